/* Agent actions from the sidebar: a goodwill reward and a benefit claim, each a short form.

   Only in the server-side app: Zendesk posted its signed ZAF JWT to our service, which answered
   this page with a session of ours in <meta name="oz-session"> (the packaged app has none, and
   shows the read-only view only). The session is exchanged for one bound to this ticket
   (POST <base>/session), which also says whether the agent's role may act, the reasons and
   reward definitions the retailer allows and the caps. The forms post to our service directly
   (this page is on its origin). Each submission carries an idempotency key made once for it and
   kept until its action settles, so a double click or a resent form makes one action. A 4xx is
   shown with the service's reason; a 202 is "pending" until polling (bounded) says "done". */
(function () {
  'use strict';

  var POLL_MS = 1000;
  var POLL_MAX = 120; // two minutes of "pending", then the agent is told to look again later

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute('content') : null;
  }

  var session = meta('oz-session');
  var base = meta('oz-actions') || '/sidebar';
  var root = document.getElementById('app');
  var state = null; // {ticketId, token, grants} once this ticket's session is known
  var preparing = null;
  var t = null; // the Translator

  function $(selector) { return root.querySelector(selector); }
  function form(kind) { return $('[data-form="' + kind + '"]'); }

  function call(method, path, body) {
    var headers = { Authorization: 'Bearer ' + (state ? state.token : session) };
    if (body) headers['Content-Type'] = 'application/json';
    return fetch(base + path, { method: method, headers: headers, credentials: 'omit',
                                body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (json) {
          if (r.ok) return json;
          throw { status: r.status, body: json };
        });
      });
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function reasonLabel(handle) {
    var key = 'reason_' + handle;
    var text = t.t(key);
    return text === key ? handle.replace(/[_-]+/g, ' ') : text;
  }

  function options(select, rows) {
    select.textContent = '';
    rows.forEach(function (row) {
      var option = document.createElement('option');
      option.value = row.value;
      option.textContent = row.label;
      select.appendChild(option);
    });
  }

  function status(kind, what, text) {
    var el = $('[data-status="' + kind + '"]');
    el.textContent = '';
    el.hidden = !what;
    if (!what) return;
    el.setAttribute('data-kind', what);
    var title = document.createElement('strong');
    title.textContent = t.t('action_' + what);
    el.appendChild(title);
    if (text) el.appendChild(document.createTextNode(' ' + text));
  }

  function hint(key, vars) {
    var el = $('[data-field="actions_hint"]');
    el.hidden = !key;
    el.textContent = key ? t.t(key, vars) : '';
  }

  function fillClaimable(benefits) {
    var f = form('claim');
    options(f.elements.benefit_id, benefits.map(function (b) { return { value: b.id, label: b.name }; }));
    f.hidden = benefits.length === 0;
    $('[data-field="no_claimable"]').hidden = benefits.length !== 0;
  }

  function loadClaimable() {
    return call('GET', '/tickets/' + state.ticketId + '/benefits/claimable').then(function (body) {
      fillClaimable(body.benefits || []);
    }, function () {
      fillClaimable([]);
    });
  }

  function showForms(grants) {
    var reasons = (grants.reasons || []).map(function (r) { return { value: r, label: reasonLabel(r) }; });
    ['reward', 'claim'].forEach(function (kind) { options(form(kind).elements.reason, reasons); });
    var reward = form('reward');
    var definitions = grants.reward_definitions || [];
    options(reward.elements.reward_definition_id, definitions.map(function (d) {
      return { value: d, label: t.t('definition_n', { id: d }) };
    }));
    reward.elements.value.max = grants.max_value;
    $('[data-field="value_label"]').textContent = t.t('reward_value', { max: t.number(grants.max_value) });
    reward.hidden = definitions.length === 0;
    $('[data-field="actions"]').hidden = false;
    return loadClaimable();
  }

  function prepare(client) {
    return client.get('ticket.id').then(function (data) {
      var ticketId = data && data['ticket.id'];
      if (!ticketId) throw { status: 0 };
      return call('POST', '/session', { ticket_id: String(ticketId) }).then(function (grants) {
        state = { ticketId: String(ticketId), token: grants.token, grants: grants };
        if (!grants.may_act) {
          $('[data-field="actions"]').hidden = false;
          return hint('actions_role');
        }
        hint(null);
        return showForms(grants);
      });
    }).catch(function (error) {
      $('[data-field="actions"]').hidden = false;
      hint(error && error.status === 401 ? 'actions_expired' : 'actions_unavailable');
    });
  }

  function poll(kind, action, left) {
    if (action.status === 'done') {
      status(kind, 'done', t.t(kind === 'claim' ? 'claim_done' : 'reward_done'));
      return finished(kind, true);
    }
    if (action.status !== 'pending') {
      status(kind, 'refused', action.failure || action.status);
      return finished(kind, false);
    }
    status(kind, 'pending', t.t('pending_text'));
    if (left <= 0) {
      status(kind, 'pending', t.t('pending_long'));
      return finished(kind, false);
    }
    setTimeout(function () {
      call('GET', '/tickets/' + state.ticketId + '/actions/' + action.id).then(function (next) {
        poll(kind, next, left - 1);
      }, function () {
        poll(kind, action, left - 1); // a failed look: look again, within the bound
      });
    }, POLL_MS);
  }

  function finished(kind, done) {
    var f = form(kind);
    delete f.dataset.key; // the next submission is a new action
    f.querySelector('button[type="submit"]').disabled = false;
    if (done) {
      f.reset();
      if (kind === 'claim') loadClaimable();
      if (window.omneoSidebar) window.omneoSidebar.load(true); // the balances and benefits it changed
    }
  }

  // a refusal in the agent's language where its code is known, else the service's own words
  function refusal(error) {
    var body = (error && error.body) || {};
    var key = 'refusal_' + body.code;
    if (body.code && t.strings[key] !== undefined) {
      return t.t(key, { max: t.number(state.grants.max_value) });
    }
    return body.error || body.message || t.t('actions_unavailable');
  }

  function submit(kind, event) {
    event.preventDefault();
    var f = form(kind);
    var button = f.querySelector('button[type="submit"]');
    if (button.disabled || !state) return;
    if (!f.dataset.key) f.dataset.key = newKey(); // once per submission, kept until it settles
    var body = { idempotency_key: f.dataset.key, reason: f.elements.reason.value, note: f.elements.note.value };
    var path;
    if (kind === 'reward') {
      body.reward_definition_id = f.elements.reward_definition_id.value;
      body.value = Number(f.elements.value.value);
      body.expiry_days = parseInt(f.elements.expiry_days.value, 10);
      path = '/tickets/' + state.ticketId + '/rewards';
    } else {
      path = '/tickets/' + state.ticketId + '/benefits/' + encodeURIComponent(f.elements.benefit_id.value) + '/claim';
    }
    button.disabled = true;
    status(kind, 'pending', t.t('sending'));
    call('POST', path, body).then(function (action) {
      poll(kind, action, POLL_MAX);
    }, function (error) {
      status(kind, 'refused', refusal(error));
      button.disabled = false;
      // refused: nothing was made, so a corrected form is a new request; a failure of the network
      // or the service (5xx) keeps the key, so sending again cannot make a second action
      if (error && error.status >= 400 && error.status < 500) delete f.dataset.key;
    });
  }

  ['reward', 'claim'].forEach(function (kind) {
    var f = form(kind);
    f.addEventListener('submit', function (event) { submit(kind, event); });
    f.addEventListener('input', function () {
      if (!f.querySelector('button[type="submit"]').disabled) delete f.dataset.key;
    });
  });

  window.omneoActions = {
    enabled: !!session,
    // the view of a found customer is on screen: set the forms up once per ticket
    found: function (translator, client) {
      if (!session || !client) return;
      t = translator;
      if (!preparing) preparing = prepare(client);
    },
    // the requester changed: the ticket's session names the old one
    reset: function () {
      state = null;
      preparing = null;
      $('[data-field="actions"]').hidden = true;
    }
  };
}());
