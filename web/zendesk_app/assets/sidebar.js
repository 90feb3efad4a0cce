/* The Omneo Customer sidebar: reads the ticket requester with the ZAF client and asks our
   service, through Zendesk's proxy, who they are in Omneo. The proxy signs a short-lived HS256
   JWT with the secure `shared_secret` setting, so the secret never reaches this page. */
(function () {
  'use strict';

  var TOKEN_SECONDS = 60; // the service refuses tokens living over 10 minutes
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  var root = document.getElementById('app');
  var client = window.ZAFClient ? window.ZAFClient.init() : null;
  var serviceUrl = null;
  var loading = 0;

  function $(selector) { return root.querySelector(selector); }
  function field(name) { return $('[data-field="' + name + '"]'); }

  function show(state) {
    root.setAttribute('data-state', state);
    var views = root.querySelectorAll('[data-state-view]');
    for (var i = 0; i < views.length; i++) {
      views[i].hidden = views[i].getAttribute('data-state-view') !== state;
    }
    resize();
  }

  function resize() {
    if (!client) return;
    var height = Math.max(80, Math.ceil(document.documentElement.getBoundingClientRect().height));
    client.invoke('resize', { width: '100%', height: height + 'px' });
  }

  // formatting (Omneo timestamps look like "2025-06-15 14:32:00")
  function money(value) {
    var n = Number(value) || 0;
    var text = Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return (n < 0 ? '−$' : '$') + text;
  }
  function count(value) { return (Number(value) || 0).toLocaleString('en-US'); }
  function day(timestamp) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(timestamp || '');
    if (!m) return '';
    return Number(m[3]) + ' ' + MONTHS[Number(m[2]) - 1] + ' ' + m[1];
  }

  function listItem(primary, secondary, value) {
    var li = document.createElement('li');
    li.className = 'list__item';
    var main = document.createElement('div');
    main.className = 'list__main';
    var p = document.createElement('div');
    p.className = 'list__primary';
    p.textContent = primary;
    main.appendChild(p);
    if (secondary) {
      var s = document.createElement('div');
      s.className = 'list__secondary';
      s.textContent = secondary;
      main.appendChild(s);
    }
    li.appendChild(main);
    if (value) {
      var v = document.createElement('div');
      v.className = 'list__value';
      v.textContent = value;
      li.appendChild(v);
    }
    return li;
  }

  function fillList(name, rows) {
    var list = $('[data-list="' + name + '"]');
    list.textContent = '';
    rows.forEach(function (row) { list.appendChild(row); });
    list.hidden = rows.length === 0;
    $('[data-empty="' + name + '"]').hidden = rows.length !== 0;
  }

  function renderFound(view) {
    var p = view.profile || {};
    field('name').textContent = p.name || p.email || 'Unnamed customer';
    field('tier').textContent = p.tier || '';
    field('email').textContent = p.email || '';
    field('email').hidden = !p.email;
    field('joined').textContent = p.joined_at ? 'Member since ' + day(p.joined_at) : '';
    field('joined').hidden = !p.joined_at;

    var b = view.balances || {};
    field('reward_balance').textContent = money(b.reward_balance);
    field('credit_balance').textContent = money(b.credit_balance);
    field('point_balance').textContent = count(b.point_balance);
    field('combined_balance_dollars').textContent = money(b.combined_balance_dollars);

    fillList('benefits', (view.benefits || []).map(function (benefit) {
      return listItem(benefit.name || 'Benefit',
                      benefit.expires_at ? 'Expires ' + day(benefit.expires_at) : 'No expiry', '');
    }));
    fillList('transactions', (view.transactions || []).map(function (t) {
      var items = Number(t.items) || 0;
      var secondary = [day(t.transacted_at), items + (items === 1 ? ' item' : ' items')].join(' · ');
      return listItem(t.location || 'Unknown location', secondary, money(t.total));
    }));

    var link = field('cx_manager_url');
    var url = view.cx_manager_url || '';
    link.hidden = !/^https?:\/\//i.test(url);
    link.setAttribute('href', link.hidden ? '#' : url);
    show('found');
  }

  function renderNotFound(requester) {
    var who = requester && (requester.name || requester.email);
    field('not_found_text').textContent = who
      ? 'No Omneo profile matches ' + who + '.'
      : 'This ticket has no requester yet.';
    show('not_found');
  }

  function renderError(text) {
    field('error_text').textContent = text;
    show('error');
  }

  function errorBody(error) {
    if (!error) return {};
    if (error.responseJSON) return error.responseJSON;
    try { return JSON.parse(error.responseText || '{}'); } catch (e) { return {}; }
  }

  function fetchView(requester) {
    var claims = { zendesk_user_id: requester.id };
    if (requester.email) claims.email = requester.email;
    return client.request({
      url: serviceUrl.replace(/\/+$/, '') + '/sidebar/profile',
      type: 'GET',
      dataType: 'json',
      timeout: 20000,
      secure: true,
      cors: false,
      headers: { Authorization: 'Bearer {{jwt.token}}' },
      jwt: {
        algorithm: 'HS256',
        secret_key: '{{setting.shared_secret}}',
        expiry: TOKEN_SECONDS,
        claims: claims
      }
    });
  }

  function load() {
    var mine = ++loading;
    show('loading');
    if (!client) {
      renderError('This page runs inside Zendesk only.');
      return Promise.resolve();
    }
    var settings = serviceUrl
      ? Promise.resolve()
      : client.metadata().then(function (meta) { serviceUrl = (meta.settings || {}).service_url || ''; });
    return settings.then(function () {
      if (!serviceUrl) throw { config: 'The app has no service URL; ask an admin to set it.' };
      return client.get('ticket.requester');
    }).then(function (data) {
      var requester = data && data['ticket.requester'];
      if (!requester || !requester.id) return { view: { found: false }, requester: null };
      return fetchView(requester).then(function (view) {
        return { view: view, requester: requester };
      });
    }).then(function (result) {
      if (mine !== loading) return;
      if (result.view && result.view.found) renderFound(result.view);
      else renderNotFound(result.requester);
    }).catch(function (error) {
      if (mine !== loading) return;
      if (error && error.config) return renderError(error.config);
      var status = error && error.status;
      var body = errorBody(error);
      if (status === 401 && body.error === 'token expired') return show('expired');
      if (status === 401) return renderError('The app’s shared secret doesn’t match the service. Ask an admin to check it.');
      if (status === 503) return renderError('Omneo is busy right now. Try again in a moment.');
      renderError('Omneo didn’t answer. Try again in a moment.');
    });
  }

  root.addEventListener('click', function (event) {
    var action = event.target.closest('[data-action]');
    if (action) load();
  });

  if (client) {
    client.on('ticket.requester.id.changed', load);
    client.on('app.activated', resize);
  }
  window.omneoSidebar = { load: load };
  load();
}());
