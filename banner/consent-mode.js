/* consentgate: Google Consent Mode v2 defaults (basic mode: Google tags
 * stay blocked until consent). Loaded synchronously right after <head>, so
 * it runs before any Google tag. Its own tag carries the state:
 * data-cg-decided ("true"/"false") and data-cg-accepted (space-separated
 * categories). statistics -> analytics_storage; marketing -> ad_storage,
 * ad_user_data, ad_personalization. */
(() => {
	'use strict';
	const s = document.currentScript;
	const accepted = ((s && s.getAttribute('data-cg-accepted')) || '').split(/\s+/);
	const decided = !!s && s.getAttribute('data-cg-decided') === 'true';
	window.dataLayer = window.dataLayer || [];
	if (typeof window.gtag !== 'function') {
		// gtag.js reads the arguments object, not an array.
		window.gtag = function () {
			window.dataLayer.push(arguments);
		};
	}
	window.gtag('consent', 'default', {
		ad_storage: 'denied',
		ad_user_data: 'denied',
		ad_personalization: 'denied',
		analytics_storage: 'denied',
	});
	if (decided) {
		const g = (c) => accepted.indexOf(c) >= 0 ? 'granted' : 'denied';
		window.gtag('consent', 'update', {
			ad_storage: g('marketing'),
			ad_user_data: g('marketing'),
			ad_personalization: g('marketing'),
			analytics_storage: g('statistics'),
		});
	}
})();
