/* Every string, number, amount and date the sidebar shows, in the agent's language: strings from
   locales/<language>.json (English when there is none for theirs), numbers and dates by Intl in
   the agent's own locale (`currentUser.locale`). */
(function () {
  'use strict';

  var AVAILABLE = ['en', 'de'];
  var FALLBACK = 'en';

  function pick(locale) {
    var wanted = String(locale || '').toLowerCase();
    if (AVAILABLE.indexOf(wanted) >= 0) return wanted;
    var language = wanted.split(/[-_]/)[0];
    return AVAILABLE.indexOf(language) >= 0 ? language : FALLBACK;
  }

  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (all, name) {
      return vars && vars[name] !== undefined ? vars[name] : all;
    });
  }

  // Omneo's timestamps ("2025-06-15 14:32:00") are UTC; our own are ISO 8601
  function parse(timestamp) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(timestamp || '');
    if (!m) return null;
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)));
  }

  function Translator(language, locale, strings) {
    this.language = language;
    // Intl formats in the agent's locale when its language is the one shown, else in that one
    this.locale = pick(locale) === language && locale ? String(locale).replace('_', '-') : language;
    this.strings = strings;
    this.plurals = new Intl.PluralRules(this.locale);
  }

  Translator.prototype.t = function (key, vars) {
    var text = this.strings[key];
    return fill(text === undefined ? key : text, vars);
  };
  Translator.prototype.count = function (key, n) {
    var forms = this.strings[key] || {};
    var form = forms[this.plurals.select(n)] || forms.other || key;
    return fill(form, { count: this.number(n) });
  };
  Translator.prototype.number = function (value) {
    return new Intl.NumberFormat(this.locale).format(Number(value) || 0);
  };
  // in the customer's currency as Omneo gives it; a plain amount when Omneo names none
  Translator.prototype.money = function (value, currency) {
    var n = Number(value) || 0;
    if (currency) {
      try {
        return new Intl.NumberFormat(this.locale, { style: 'currency', currency: currency }).format(n);
      } catch (e) { /* a code Intl does not know: fall through */ }
    }
    return new Intl.NumberFormat(this.locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
  };
  Translator.prototype.date = function (timestamp) {
    var d = parse(timestamp);
    return d ? new Intl.DateTimeFormat(this.locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d) : '';
  };
  // when a view was fetched: the time of day if today, else the date and time, in local time;
  // timeStyle keeps each locale's own clock ('08:05' in German, '8:05 AM' in US English)
  Translator.prototype.moment = function (timestamp, now) {
    var d = parse(timestamp);
    if (!d) return '';
    var today = new Date(now).toDateString() === d.toDateString();
    if (today) return new Intl.DateTimeFormat(this.locale, { timeStyle: 'short' }).format(d);
    var day = new Intl.DateTimeFormat(this.locale, { day: 'numeric', month: 'short' }).format(d);
    return day + ', ' + new Intl.DateTimeFormat(this.locale, { timeStyle: 'short' }).format(d);
  };
  Translator.prototype.updated = function (timestamp, now) {
    var d = parse(timestamp);
    if (!d) return '';
    var minutes = Math.floor((now - d.getTime()) / 60000);
    if (minutes < 1) return this.t('updated_just_now');
    var relative = new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto' });
    var ago = minutes < 60 ? relative.format(-minutes, 'minute')
            : minutes < 1440 ? relative.format(-Math.floor(minutes / 60), 'hour')
            : relative.format(-Math.floor(minutes / 1440), 'day');
    return this.t('updated', { ago: ago });
  };
  // the page's own fixed strings: data-i18n (text) and data-i18n-label (aria-label)
  Translator.prototype.apply = function (root) {
    var self = this;
    document.documentElement.lang = this.locale;
    root.querySelectorAll('[data-i18n]').forEach(function (el) {
      el.textContent = self.t(el.getAttribute('data-i18n'));
    });
    [root].concat(Array.prototype.slice.call(root.querySelectorAll('[data-i18n-label]'))).forEach(function (el) {
      if (el.hasAttribute('data-i18n-label')) el.setAttribute('aria-label', self.t(el.getAttribute('data-i18n-label')));
    });
  };

  function load(locale) {
    var language = pick(locale);
    return fetch('locales/' + language + '.json')
      .then(function (r) { if (!r.ok) throw new Error('locale ' + language); return r.json(); })
      .then(function (strings) { return new Translator(language, locale, strings); });
  }

  window.OmneoI18n = { AVAILABLE: AVAILABLE, pick: pick, load: load };
}());
