/* A stand-in for Zendesk's ZAF SDK in the browser test. It answers `get` and `metadata` from
   window.__ZAF_FAKE__ (set by the test), and sends `request` to the test's stand-in for
   Zendesk's proxy, which holds the secure settings, signs the JWT and calls our service. Like the
   real client, `request` resolves with the parsed body on 2xx and rejects with
   {status, responseText, responseJSON} otherwise. */
(function () {
  var config = window.__ZAF_FAKE__ || {};
  var handlers = {};
  window.__ZAF_CALLS__ = [];
  var client = {
    get: function (path) {
      var answer = {};
      if (path === 'ticket.requester') answer[path] = config.requester || null;
      return Promise.resolve(answer);
    },
    metadata: function () {
      return Promise.resolve({ appId: 0, installationId: 1, settings: config.settings || {} });
    },
    invoke: function (name, arg) {
      window.__ZAF_CALLS__.push([name, arg]);
      return Promise.resolve({});
    },
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
    trigger: function (name, data) { (handlers[name] || []).forEach(function (fn) { fn(data); }); },
    request: function (options) {
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
  window.ZAFClient = { init: function () { return client; } };
}());
