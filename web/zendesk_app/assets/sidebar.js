/* The Omneo Customer sidebar: reads the ticket requester's id with the ZAF client and asks our
   service, through Zendesk's proxy, who they are in Omneo. The proxy signs a short-lived HS256
   JWT with the secure `shared_secret` setting, so the secret never reaches this page.

   Lazy: nothing is fetched until Zendesk activates the app (`app.activated`: the agent is on
   this ticket's tab), so tickets opened in the background cost no call. A requester change
   while in the background waits for the next activation. */
(function () {
  'use strict';

  var TOKEN_SECONDS = 60; // the service refuses tokens living over 10 minutes
  var AGE_TICK_MS = 30000; // how often "updated N minutes ago" is redrawn
  var REFETCH_AFTER_MS = 60000; // coming back to a view older than this fetches it again

  var root = document.getElementById('app');
  var client = window.ZAFClient ? window.ZAFClient.init() : null;
  var serviceUrl = null;
  var i18n = null; // a Translator once the agent's locale is known
  var loading = 0;
  var shown = null; // the view on screen, for its age
  var active = false;
  var stale = true; // the requester changed (or nothing loaded yet) since the last fetch

  function $(selector) { return root.querySelector(selector); }
  function field(name) { return $('[data-field="' + name + '"]'); }

  function show(state) {
    root.setAttribute('data-state', state);
    var views = root.querySelectorAll('[data-state-view]');
    for (var i = 0; i < views.length; i++) {
      views[i].hidden = views[i].getAttribute('data-state-view') !== state;
    }
    field('footer').hidden = state !== 'found';
    resize();
  }

  var lastHeight = 0;
  function resize() {
    if (!client) return;
    var height = Math.max(80, Math.ceil(root.getBoundingClientRect().height));
    if (height === lastHeight) return;
    lastHeight = height;
    client.invoke('resize', { width: '100%', height: height + 'px' });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function listItem(primary, secondary, value) {
    var li = element('li', 'list__item');
    var main = element('div', 'list__main');
    main.appendChild(element('div', 'list__primary', primary));
    if (secondary) { main.appendChild(element('div', 'list__secondary', secondary)); }
    li.appendChild(main);
    if (value) { li.appendChild(element('div', 'list__value', value)); }
    return li;
  }

  function fillList(name, rows) {
    var list = $('[data-list="' + name + '"]');
    list.textContent = '';
    rows.forEach(function (row) { list.appendChild(row); });
    list.hidden = rows.length === 0;
    $('[data-empty="' + name + '"]').hidden = rows.length !== 0;
  }

  function setLink(el, url) {
    el.hidden = !/^https?:\/\//i.test(url || '');
    el.setAttribute('href', el.hidden ? '#' : url);
  }

  function renderAge() {
    if (!shown || !i18n) return;
    field('updated').textContent = i18n.updated(shown.fetched_at, Date.now());
  }

  function renderFound(view) {
    var t = i18n;
    var p = view.profile || {};
    var currency = view.currency || null;
    field('name').textContent = p.name || p.email || t.t('unnamed');
    field('tier').textContent = p.tier || '';
    field('tier').setAttribute('aria-label', p.tier ? t.t('tier_label') + ': ' + p.tier : '');
    field('email').textContent = p.email || '';
    field('email').hidden = !p.email;
    field('joined').textContent = p.joined_at ? t.t('member_since', { date: t.date(p.joined_at) }) : '';
    field('joined').hidden = !p.joined_at;
    var tp = view.tier_progress;
    field('tier_progress').textContent = !tp ? '' : tp.next
      ? t.t('tier_next', { remaining: t.number(tp.remaining), next: tp.next }) : t.t('tier_top');
    field('tier_progress').hidden = !tp;

    var b = view.balances || {};
    field('reward_balance').textContent = t.money(b.reward_balance, currency);
    field('credit_balance').textContent = t.money(b.credit_balance, currency);
    field('point_balance').textContent = t.number(b.point_balance);
    field('combined_balance_dollars').textContent = t.money(b.combined_balance_dollars, currency);

    fillList('benefits', (view.benefits || []).map(function (benefit) {
      return listItem(benefit.name || t.t('benefit'),
                      benefit.expires_at ? t.t('expires', { date: t.date(benefit.expires_at) }) : t.t('no_expiry'), '');
    }));
    fillList('transactions', (view.transactions || []).map(function (sale) {
      var secondary = [t.date(sale.transacted_at), t.count('items', Number(sale.items) || 0)].join(' · ');
      return listItem(sale.location || t.t('unknown_location'), secondary,
                      t.money(sale.total, sale.currency || currency));
    }));

    var notice = field('stale');
    notice.hidden = !view.stale;
    if (view.stale) {
      field('stale_title').textContent = t.t(view.stale === 'omneo_timeout' ? 'stale_timeout_title' : 'stale_error_title');
      field('stale_text').textContent = t.t('stale_text', { time: t.moment(view.fetched_at, Date.now()) });
    }
    setLink(field('cx_manager_url'), view.cx_manager_url);
    shown = view;
    renderAge();
    show('found');
    if (window.omneoActions) window.omneoActions.found(t, client);
  }

  function renderNotFound(view, requester) {
    var t = i18n;
    var who = requester && (requester.name || requester.email);
    field('not_found_text').textContent = who ? t.t('not_found_text', { who: who }) : t.t('no_requester');
    var search = field('cx_manager_search_url');
    setLink(search, requester && requester.email ? view.cx_manager_search_url : '');
    field('search_label').textContent = requester && requester.email ? t.t('search_cx', { email: requester.email }) : '';
    field('not_found_hint').textContent = t.t(search.hidden ? 'not_found_hint' : 'search_hint');
    shown = null;
    show('not_found');
  }

  function renderError(key) {
    field('error_text').textContent = i18n ? i18n.t(key) : key;
    shown = null;
    show('error');
  }

  function errorBody(error) {
    if (!error) return {};
    if (error.responseJSON) return error.responseJSON;
    try { return JSON.parse(error.responseText || '{}'); } catch (e) { return {}; }
  }

  // the requester's id only: the service reads who they are from Zendesk itself, since
  // anything this page says could be edited by whoever runs it
  function fetchView(requester, refresh) {
    var claims = { zendesk_user_id: requester.id };
    return client.request({
      url: serviceUrl.replace(/\/+$/, '') + '/sidebar/profile' + (refresh ? '?refresh=1' : ''),
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

  // the agent's locale and the app's settings, once
  function prepare() {
    if (i18n && serviceUrl !== null) return Promise.resolve();
    return Promise.all([
      client.get('currentUser.locale').then(function (data) {
        return window.OmneoI18n.load(data && data['currentUser.locale']);
      }),
      client.metadata()
    ]).then(function (results) {
      i18n = results[0];
      i18n.apply(root);
      serviceUrl = (results[1].settings || {}).service_url || '';
    });
  }

  function load(refresh) {
    var mine = ++loading;
    stale = false;
    if (!client) {
      return window.OmneoI18n.load(navigator.language).then(function (t) {
        i18n = t;
        i18n.apply(root);
        renderError('error_outside');
      });
    }
    if (!shown) show('loading');
    return prepare().then(function () {
      if (!serviceUrl) throw { config: 'error_config' };
      return client.get('ticket.requester');
    }).then(function (data) {
      var requester = data && data['ticket.requester'];
      if (!requester || !requester.id) return { view: { found: false }, requester: null };
      return fetchView(requester, refresh).then(function (view) {
        return { view: view, requester: requester };
      });
    }).then(function (result) {
      if (mine !== loading) return;
      if (result.view && result.view.found) renderFound(result.view);
      else renderNotFound(result.view || {}, result.requester);
    }).catch(function (error) {
      if (mine !== loading) return;
      if (error && error.config) return renderError(error.config);
      var status = error && error.status;
      var body = errorBody(error);
      if (status === 401 && body.error === 'token expired') { shown = null; return show('expired'); }
      if (status === 401) return renderError('error_secret');
      if (status === 503) return renderError('error_busy');
      renderError('error_omneo');
    });
  }

  function activated() {
    active = true;
    var old = shown && Date.now() - Date.parse(shown.fetched_at) > REFETCH_AFTER_MS;
    if (stale || old) load(false);
    else renderAge();
  }

  root.addEventListener('click', function (event) {
    var action = event.target.closest('[data-action]');
    if (!action) return;
    load(action.getAttribute('data-action') === 'refresh');
  });

  if (window.ResizeObserver) new ResizeObserver(resize).observe(root);
  setInterval(renderAge, AGE_TICK_MS);

  if (client) {
    client.on('app.activated', activated);
    client.on('app.deactivated', function () { active = false; });
    client.on('ticket.requester.id.changed', function () {
      stale = true;
      if (window.omneoActions) window.omneoActions.reset();
      if (active) load(false);
    });
    client.on('colorScheme.changed', window.omneoScheme.apply);
    client.get('colorScheme').then(function (data) {
      if (data && data.colorScheme) window.omneoScheme.apply(data.colorScheme);
    });
  } else {
    load(false);
  }
  window.omneoSidebar = { load: load };
}());
