/* A stand-in for Zendesk's ZAF SDK, for the browser test and `omneo-zendesk dev`'s preview.

   What the client is told (requester, agent locale, colour scheme, the app's non-secure
   settings) comes from window.__ZAF_FAKE__ when a test set it, else from the host's
   /_zaf/context for the `ticket` (and `locale`) on this iframe's URL. `request` goes to the host's stand-in for
   Zendesk's proxy, which holds the secure settings, signs the JWT and calls our service; like the
   real client it resolves with the parsed body on 2xx and rejects with
   {status, responseText, responseJSON} otherwise. Like Zendesk, it fires `app.registered`, then
   `app.activated` unless the ticket is opened in the background (`background: true`); the
   preview page's scheme switch arrives as a message and fires `colorScheme.changed`. */
(function () {
  var handlers = {};
  var query = new URLSearchParams(window.location.search);
  var config = window.__ZAF_FAKE__
    ? Promise.resolve(window.__ZAF_FAKE__)
    : fetch('/_zaf/context' + window.location.search)
        .then(function (r) { return r.json(); });
  window.__ZAF_CALLS__ = [];

  function answer(cfg, path) {
    if (path === 'ticket.requester') return cfg.requester || null;
    if (path === 'ticket.id') return cfg.ticket_id || null;
    if (path === 'currentUser.locale') return cfg.locale || 'en-US';
    if (path === 'colorScheme') return cfg.colorScheme || query.get('colorScheme') || 'light';
    return undefined;
  }

  var client = {
    get: function (paths) {
      return config.then(function (cfg) {
        var out = {};
        [].concat(paths).forEach(function (path) { out[path] = answer(cfg, path); });
        return out;
      });
    },
    metadata: function () {
      return config.then(function (cfg) {
        return { appId: 0, installationId: 1, settings: cfg.settings || {} };
      });
    },
    invoke: function (name, arg) {
      window.__ZAF_CALLS__.push([name, arg]);
      return Promise.resolve({});
    },
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
    trigger: function (name, data) { (handlers[name] || []).forEach(function (fn) { fn(data); }); },
    request: function (options) {
      window.__ZAF_CALLS__.push(['request', options.url]);
      return fetch('/_zaf_proxy', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(options)
      }).then(function (r) { return r.json(); }).then(function (res) {
        if (res.status >= 200 && res.status < 300) return res.json;
        throw { status: res.status, statusText: '', responseText: res.text, responseJSON: res.json };
      });
    }
  };

  window.addEventListener('message', function (event) {
    var data = event.data || {};
    if (data.zaf === 'colorScheme') client.trigger('colorScheme.changed', data.value);
    if (data.zaf === 'activate') client.trigger('app.activated', {});
  });
  window.addEventListener('load', function () {
    config.then(function (cfg) {
      client.trigger('app.registered', {});
      if (!cfg.background) client.trigger('app.activated', {});
    });
  });
  window.ZAFClient = { init: function () { return client; } };
}());
