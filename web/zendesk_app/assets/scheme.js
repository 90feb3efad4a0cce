/* The colour scheme, before the first paint: Zendesk adds `colorScheme=light|dark` to the app
   iframe's URL; sidebar.js follows the `colorScheme` property and its change event after that. */
(function () {
  'use strict';
  function apply(scheme) {
    var value = scheme && typeof scheme === 'object' ? scheme.colorScheme : scheme;
    document.documentElement.setAttribute('data-color-scheme', value === 'dark' ? 'dark' : 'light');
  }
  apply(new URLSearchParams(window.location.search).get('colorScheme'));
  window.omneoScheme = { apply: apply };
}());
