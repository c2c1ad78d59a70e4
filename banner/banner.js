/* consentgate banner script (plain ES2017, no dependencies).
 *
 * Reads the banner root (#consentgate) and the rewriter's attribute
 * contract (data-consent-category, data-consent-vendor, and the
 * data-consent-src/srcset/href/data/type renames), restores in document
 * order what the visitor accepted, shows placeholders for blocked embeds,
 * and sends decisions to the consent endpoint. See the Go package doc of
 * consentgate/banner. */
(() => {
	'use strict';

	const P = 'data-consent-';
	const CATS = ['necessary', 'statistics', 'preferences', 'marketing', 'unclassified'];
	// The attributes the rewriter renames and this script may restore:
	// nothing else ever comes back. xlink:href is renamed to
	// data-consent-xlink:href (data-consent-xlink-href in XHTML).
	const RENAMED = ['srcset', 'src', 'href', 'data', 'poster', 'imagesrcset', 'background', 'ping', 'style',
		'xlink:href', 'xlink-href'];
	const XLINK = 'http://www.w3.org/1999/xlink';
	const SVG = 'http://www.w3.org/2000/svg';
	const self = document.currentScript;
	const root = document.getElementById('consentgate');
	// cg-js marks the banner as this script's (a second copy leaves it);
	// data-cg-ready follows only once every control works (at the end).
	if (!root || root.classList.contains('cg-js') || root.hasAttribute('data-cg-ready')) {
		return;
	}
	root.classList.add('cg-js');

	const words = (s) => String(s || '').split(/\s+/).filter(Boolean);
	const has = (list, x) => list.indexOf(x) >= 0;
	const data = (n) => root.getAttribute('data-cg-' + n) || '';
	const parse = (s) => {
		try {
			const v = JSON.parse(s);
			return v && typeof v === 'object' ? v : {};
		} catch (e) {
			return {};
		}
	};

	// Resolved against the page's own URL, not a <base> of the page.
	const endpoint = (() => {
		try {
			return new URL(data('prefix') + 'consent', location.href).href;
		} catch (e) {
			return data('prefix') + 'consent';
		}
	})();
	const anchor = data('anchor');
	const consentMode = data('consent-mode') === 'true';
	const texts = parse(data('texts'));
	// The vendors' names, for placeholders: fetched with the first one.
	let vendors = null;
	const offered = words(data('offered'));
	let accepted = words(data('accepted'));
	// The services (vendor IDs) granted one by one: lastingly (the
	// cookie's, and an embed's Always allow) or for this page view (an
	// embed's Load content).
	const services = words(data('services'));
	if (!has(accepted, 'necessary')) {
		accepted.push('necessary');
	}

	const form = root.querySelector('form');
	// The first layer is only in the page of a visitor who has not
	// decided; the settings dialog comes on demand (loadDialog).
	const banner = root.querySelector('.cg-banner');
	let dlg = null;
	const toggle = root.querySelector('.cg-toggle');
	form.setAttribute('action', endpoint);

	// The page's CSP nonce, for the scripts this restores.
	const nonce = (() => {
		if (self && self.nonce) {
			return self.nonce;
		}
		const s = document.querySelector('script[nonce]');
		return s ? s.nonce || s.getAttribute('nonce') || '' : '';
	})();

	const isOpen = () => !!dlg && dlg.hasAttribute('open');
	const visible = (el) => !!(el && el.isConnected && el.getClientRects().length);

	// ---- Restoring what was accepted --------------------------------------

	function categoriesOf(el) {
		const cs = words(el.getAttribute(P + 'category')).map((c) => {
			c = c.toLowerCase();
			return has(CATS, c) ? c : 'unclassified';
		});
		return cs.length ? cs : ['unclassified'];
	}

	const vendorOf = (el) => el.getAttribute(P + 'vendor') || '';
	// An element is allowed when all its categories are accepted, or its
	// service is granted one by one.
	const allowed = (el, acc) => categoriesOf(el).every((c) => has(acc, c)) ||
		vendorOf(el) !== '' && has(services, vendorOf(el));

	// Restoring never creates what the page did not have: a restored URL
	// is http(s) or relative (resolved as the browser will resolve it, so
	// "java\tscript:" and friends are caught), and data: only where it is
	// an image. Otherwise the element stays inert.
	function imageAttr(el, n) {
		const t = el.tagName;
		const parent = el.parentNode;
		return t === 'IMG' && (n === 'src' || n === 'srcset') || t === 'VIDEO' && n === 'poster' ||
			t === 'SOURCE' && n === 'srcset' && !!parent && parent.tagName === 'PICTURE' ||
			t === 'LINK' && n === 'imagesrcset' || n === 'background' ||
			el.namespaceURI === SVG && (t === 'image' || t === 'feImage') && n !== 'style';
	}

	function safeURL(u, image) {
		let p;
		try {
			p = new URL(u, document.baseURI).protocol;
		} catch (e) {
			return false;
		}
		return p === 'http:' || p === 'https:' || image && p === 'data:';
	}

	// srcsetURLs splits a srcset as the HTML standard parses it: a URL is
	// a run of non-space characters (trailing commas end the candidate),
	// then descriptors up to a comma outside parentheses.
	function srcsetURLs(v) {
		const out = [];
		let i = 0;
		const space = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
		while (i < v.length) {
			while (i < v.length && (space(v[i]) || v[i] === ',')) {
				i++;
			}
			if (i >= v.length) {
				break;
			}
			let j = i;
			while (j < v.length && !space(v[j])) {
				j++;
			}
			let u = v.slice(i, j);
			i = j;
			if (/,$/.test(u)) {
				u = u.replace(/,+$/, '');
			} else {
				let depth = 0;
				while (i < v.length && (depth > 0 || v[i] !== ',')) {
					depth += v[i] === '(' ? 1 : v[i] === ')' && depth > 0 ? -1 : 0;
					i++;
				}
			}
			out.push(u);
		}
		return out;
	}

	function restorable(el) {
		if (el.namespaceURI === SVG && el.localName === 'script') {
			return false; // an SVG script stays held until the next page load
		}
		const names = el.tagName === 'SCRIPT' ? ['src'] : RENAMED;
		return names.every((n) => {
			const v = el.getAttribute(P + n);
			if (v === null || n === 'style') {
				return true; // a style attribute's url() runs no script
			}
			const image = imageAttr(el, n);
			if (n === 'ping') {
				return words(v).every((u) => safeURL(u, false));
			}
			return n === 'srcset' || n === 'imagesrcset' ?
				srcsetURLs(v).every((u) => safeURL(u, image)) : safeURL(v, image);
		});
	}

	// inert reports whether el was neutralised and waits to be restored.
	function inert(el) {
		if (el.tagName === 'SCRIPT') {
			return el.hasAttribute(P + 'src') ||
				(el.getAttribute('type') || '').trim().toLowerCase() === 'text/plain';
		}
		if (el.tagName === 'STYLE' && (el.getAttribute('type') || '').trim().toLowerCase() === 'text/plain') {
			return true; // a held sheet (its text maybe in data-consent-sheet)
		}
		return RENAMED.some((n) => el.hasAttribute(P + n));
	}

	// scriptMode tells how a restored script runs: 'sync' scripts run one
	// after the other (an external one loads before the next runs),
	// 'defer' ones after all of those, 'async' ones whenever they load.
	function scriptMode(el) {
		const external = el.hasAttribute(P + 'src') || el.hasAttribute('src');
		const type = (el.getAttribute(P + 'type') || '').trim().toLowerCase();
		if (el.hasAttribute('async') && (external || type === 'module')) {
			return 'async';
		}
		if (type === 'module' || external && el.hasAttribute('defer')) {
			return 'defer';
		}
		return 'sync';
	}

	const done = new WeakSet();

	// runScript replaces an inert script by a live copy, so it runs. The
	// promise resolves when the next script may run.
	function runScript(old, wait) {
		return new Promise((resolve) => {
			const s = document.createElement('script');
			for (const a of Array.from(old.attributes)) {
				let n = a.name;
				if (n === 'type' || n === 'nonce' || n === P + 'category' || n === P + 'vendor') {
					continue;
				}
				if (n === P + 'type' || n === P + 'src') {
					n = n.slice(P.length);
				}
				s.setAttribute(n, a.value);
			}
			const n = old.nonce || nonce;
			if (n) {
				s.nonce = n;
			}
			s.text = old.text;
			const external = s.hasAttribute('src');
			if (external) {
				s.async = old.hasAttribute('async');
				if (wait) {
					s.addEventListener('load', () => resolve());
					s.addEventListener('error', () => resolve());
				}
			}
			done.add(s);
			if (old.parentNode) {
				old.parentNode.replaceChild(s, old);
			}
			if (!external || !wait) {
				resolve();
			}
		});
	}

	function restoreElement(el) {
		for (const n of RENAMED) {
			const v = el.getAttribute(P + n);
			if (v === null) {
				continue;
			}
			el.removeAttribute(P + n);
			if (n === 'xlink:href' || n === 'xlink-href') {
				el.setAttributeNS(XLINK, 'xlink:href', v);
			} else {
				el.setAttribute(n, v);
			}
		}
		if (el.tagName === 'STYLE') {
			const sheet = el.getAttribute(P + 'sheet');
			if (sheet !== null) {
				el.textContent = sheet;
				el.removeAttribute(P + 'sheet');
			}
			const type = el.getAttribute(P + 'type');
			el.removeAttribute(P + 'type');
			if (type !== null) {
				el.setAttribute('type', type);
			} else {
				el.removeAttribute('type');
			}
		}
		removePlaceholder(el);
		if ((el.tagName === 'OBJECT' || el.tagName === 'EMBED') && el.parentNode) {
			const copy = el.cloneNode(true); // so it loads what it now points at
			done.add(copy);
			el.parentNode.replaceChild(copy, el);
		}
	}

	// restorePass restores, in document order, every inert element whose
	// categories are all in acc.
	async function restorePass(acc) {
		const deferred = [];
		for (const el of Array.from(document.querySelectorAll('[' + P + 'category]'))) {
			if (done.has(el) || !el.isConnected || root.contains(el) || !inert(el) || !allowed(el, acc)) {
				continue;
			}
			done.add(el);
			if (!restorable(el)) {
				continue;
			}
			if (el.tagName !== 'SCRIPT') {
				restoreElement(el);
				continue;
			}
			const mode = scriptMode(el);
			if (mode === 'defer') {
				deferred.push(el);
			} else {
				await runScript(el, mode === 'sync');
			}
		}
		for (const el of deferred) {
			await runScript(el, true);
		}
		await placeholders(acc);
	}

	let chain = Promise.resolve();
	function restore() {
		const acc = accepted.slice();
		chain = chain.then(() => restorePass(acc)).catch(() => {});
		return chain;
	}

	// ---- Placeholders for blocked embeds --------------------------------

	const boxes = new WeakMap(); // iframe -> {box, display, priority}

	function hostOf(u) {
		try {
			return new URL(u, location.href).hostname;
		} catch (e) {
			return '';
		}
	}

	const fill = (t, k, v) => String(t || '').split('{' + k + '}').join(v);
	const pixels = (v) => /^\s*\d+(\.\d+)?\s*(px)?\s*$/i.test(v || '') ? parseFloat(v) : 0;

	let vendorsLoading = null;
	function loadVendors() {
		const name = /^vendors\.[0-9a-f]{10}\.json$/.test(data('vendors')) ? data('vendors') : '';
		if (!vendorsLoading) {
			vendorsLoading = (name && window.fetch ?
				fetch(new URL(data('prefix') + name, location.href).href, {credentials: 'same-origin'})
					.then((r) => r.ok ? r.json() : {}) : Promise.resolve({}))
				.catch(() => ({}))
				.then((v) => {
					vendors = v && typeof v === 'object' ? v : {};
				});
		}
		return vendorsLoading;
	}

	async function placeholders(acc) {
		const wanted = (el) => !done.has(el) && !boxes.has(el) && !root.contains(el) && inert(el) && !allowed(el, acc);
		if (!Array.from(document.querySelectorAll('iframe[' + P + 'category]')).some(wanted)) {
			return;
		}
		await loadVendors();
		for (const el of Array.from(document.querySelectorAll('iframe[' + P + 'category]'))) {
			if (wanted(el)) {
				placeholder(el, acc);
			}
		}
	}

	function placeholder(el, acc) {
		const missing = categoriesOf(el).filter((c) => !has(acc, c));
		const id = el.getAttribute(P + 'vendor') || '';
		const named = vendors && Object.prototype.hasOwnProperty.call(vendors, id) && typeof vendors[id] === 'string' ? vendors[id] : '';
		const vendor = named || el.getAttribute(P + 'vendor-name') || id || hostOf(el.getAttribute(P + 'src')) || '?';
		const category = missing.map((c) => texts['category_' + c] || c).join(', ');

		const box = document.createElement('div');
		box.className = 'cg-placeholder';
		box.setAttribute('role', 'group');
		box.setAttribute('aria-label', vendor);
		box.setAttribute('data-cg-vendor', id);
		const w = pixels(el.getAttribute('width'));
		const h = pixels(el.getAttribute('height'));
		if (w && h) {
			box.style.width = w + 'px';
			box.style.aspectRatio = w + ' / ' + h;
		} else {
			const r = el.getBoundingClientRect();
			box.style.width = r.width ? r.width + 'px' : '100%';
			box.style.minHeight = (r.height || 150) + 'px';
		}
		const p = document.createElement('p');
		p.textContent = fill(fill(texts.embed_notice, 'vendor', vendor), 'category', category);
		box.appendChild(p);
		const button = (text, body) => {
			const b = document.createElement('button');
			b.type = 'button';
			b.className = 'cg-btn';
			b.textContent = text;
			b.addEventListener('click', () => decide(body, box));
			box.appendChild(b);
		};
		if (id && missing.every((c) => has(offered, c))) {
			// Exactly this service: for this page view, or for good.
			button(texts.embed_load || 'Load', {action: 'embed', vendor: id});
			button(fill(texts.embed_always || 'Always allow {vendor}', 'vendor', vendor), {action: 'embed', vendor: id, always: true});
		} else if (missing.every((c) => has(offered, c))) {
			// No service is named (an unknown third party): its categories.
			button(texts.embed_load || 'Load', {
				action: 'save',
				categories: accepted.concat(missing).filter((c, i, all) => c !== 'necessary' && all.indexOf(c) === i),
			});
		}
		boxes.set(el, {
			box: box,
			display: el.style.getPropertyValue('display'),
			priority: el.style.getPropertyPriority('display'),
		});
		el.style.setProperty('display', 'none', 'important');
		el.parentNode.insertBefore(box, el);
	}

	function removePlaceholder(el) {
		const ph = boxes.get(el);
		if (!ph) {
			return;
		}
		boxes.delete(el);
		const focused = ph.box.contains(document.activeElement);
		if (ph.display) {
			el.style.setProperty('display', ph.display, ph.priority);
		} else {
			el.style.removeProperty('display');
		}
		ph.box.remove();
		if (focused) {
			el.focus();
		}
	}

	// ---- Decisions --------------------------------------------------------

	function errorBox(where) {
		if (where) {
			let e = where.querySelector('.cg-error');
			if (!e) {
				e = document.createElement('p');
				e.className = 'cg-error';
				e.setAttribute('role', 'alert');
				where.appendChild(e);
			}
			return e;
		}
		const box = isOpen() ? dlg : banner;
		return box ? box.querySelector('.cg-error') : null;
	}

	function showError(where) {
		const e = errorBox(where);
		if (e) {
			e.textContent = texts.error || 'Error';
			e.hidden = false;
		}
	}

	function hideErrors() {
		for (const e of Array.from(root.querySelectorAll('.cg-error'))) {
			e.hidden = true;
			e.textContent = '';
		}
	}

	function updateConsentMode(acc) {
		if (!consentMode) {
			return;
		}
		window.dataLayer = window.dataLayer || [];
		if (typeof window.gtag !== 'function') {
			window.gtag = function () {
				window.dataLayer.push(arguments);
			};
		}
		const g = (c) => has(acc, c) ? 'granted' : 'denied';
		window.gtag('consent', 'update', {
			ad_storage: g('marketing'),
			ad_user_data: g('marketing'),
			ad_personalization: g('marketing'),
			analytics_storage: g('statistics'),
		});
	}

	// apply takes a decision the endpoint answered with; useWithdrawn says
	// whether to act on its "withdrawn" list.
	function apply(res, useWithdrawn) {
		const acc = ['necessary'];
		for (const c of CATS) {
			if (c !== 'necessary' && res.categories[c] === true) {
				acc.push(c);
			}
		}
		const strings = (v) => Array.isArray(v) ? v.filter((s) => typeof s === 'string' && s !== '') : [];
		const granted = strings(res.services).concat(strings([res.embed]));
		const grant = () => {
			for (const s of granted) {
				if (!has(services, s)) {
					services.push(s);
				}
			}
		};
		// The runtime guard (guard.js) follows: categories, and the
		// services granted one by one as "+id".
		const tell = (cats) => root.dispatchEvent(new CustomEvent('consentgate:consent',
			{detail: cats.concat(services.map((s) => '+' + s)).join(' ')}));
		if (res.decided !== true) {
			// An embed loaded for this page view before any decision.
			grant();
			tell(accepted);
			hideErrors();
			restore();
			return;
		}
		const withdrawn = useWithdrawn && (Array.isArray(res.withdrawn) && res.withdrawn.length > 0 ||
			strings(res.withdrawn_services).length > 0);
		// The runtime guard (guard.js) follows every decision: tighter at
		// once on a withdrawal, and it restores what it held.
		if (!withdrawn) {
			grant();
		}
		tell(acc);
		if (withdrawn || accepted.some((c) => !has(acc, c))) {
			// Scripts that ran cannot be stopped: start afresh.
			location.reload();
			return;
		}
		const focusWasInside = root.contains(document.activeElement);
		accepted = acc;
		renderServices(res.site_services);
		showRecord(res);
		root.setAttribute('data-cg-decided', 'true');
		root.setAttribute('data-cg-accepted', acc.join(' '));
		root.classList.add('cg-decided');
		for (const box of Array.from(root.querySelectorAll('input[name=category]'))) {
			if (!box.disabled) {
				box.checked = has(acc, box.value);
			}
		}
		hideErrors();
		if (banner) {
			banner.hidden = true;
		}
		updateConsentMode(acc);
		if (isOpen()) {
			closeSettings();
		} else if (focusWasInside) {
			focusBack(null);
		}
		restore();
	}

	let busy = false;

	async function decide(body, where) {
		if (busy) {
			return;
		}
		busy = true;
		root.setAttribute('aria-busy', 'true');
		let res = null;
		try {
			const r = await fetch(endpoint, {
				method: 'POST',
				credentials: 'same-origin',
				headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
				body: JSON.stringify(body),
			});
			if (r.ok) {
				res = await r.json();
			}
		} catch (e) {
			res = null;
		}
		busy = false;
		root.removeAttribute('aria-busy');
		if (!res || res.decided !== true && !(body.action === 'embed' && res.embed === body.vendor) ||
			!res.categories || typeof res.categories !== 'object') {
			showError(where);
			return;
		}
		apply(res, true);
	}

	let submitter = null;
	form.addEventListener('click', (e) => {
		const b = e.target.closest && e.target.closest('button[name=action]');
		if (b) {
			submitter = b;
		}
	});
	form.addEventListener('submit', (e) => {
		const b = e.submitter || submitter;
		const action = b ? b.value : '';
		if (!window.fetch || !has(['accept_all', 'reject_all', 'save'], action)) {
			return; // the form posts itself
		}
		e.preventDefault();
		const body = {action: action};
		if (action === 'save') {
			body.categories = Array.from(form.querySelectorAll('input[name=category]:checked:not(:disabled)'))
				.map((x) => x.value);
			// Services count one by one where their category is not
			// accepted whole.
			body.services = Array.from(form.querySelectorAll('input[name=service]:checked'))
				.filter((x) => !has(body.categories, x.getAttribute('data-cg-category')))
				.map((x) => x.value);
		}
		decide(body, null);
	});

	// ---- The settings layer -------------------------------------------

	let returnTo = null;
	let modal = false;

	function focusBack(el) {
		if (visible(el) && el !== document.body) {
			el.focus();
		} else if (visible(toggle)) {
			toggle.focus();
		} else {
			const open = banner && banner.querySelector('[data-cg-open]');
			if (visible(open)) {
				open.focus();
			}
		}
	}

	// ---- Services inside categories -------------------------------------

	// renderServices lists, under each category of the settings, the
	// services the site uses (the endpoint's site_services), each with its
	// own switch.
	function renderServices(list) {
		if (!dlg || !Array.isArray(list)) {
			return;
		}
		for (const li of Array.from(dlg.querySelectorAll('.cg-cat'))) {
			const cat = li.querySelector('input[name=category]');
			if (!cat || cat.disabled) {
				continue;
			}
			const mine = list.filter((s) => s && s.category === cat.value && typeof s.id === 'string' &&
				/^[a-z0-9._-]+$/.test(s.id) && typeof s.name === 'string');
			let ul = li.querySelector('.cg-services');
			if (ul) {
				ul.remove();
			}
			if (!mine.length) {
				continue;
			}
			ul = document.createElement('ul');
			ul.className = 'cg-services';
			const name = (li.querySelector('label') || cat).textContent;
			ul.setAttribute('aria-label', fill(texts.services_in || '{category}', 'category', name));
			for (const s of mine) {
				const item = document.createElement('li');
				item.className = 'cg-service';
				const box = document.createElement('input');
				box.type = 'checkbox';
				box.className = 'cg-check';
				box.name = 'service';
				box.value = s.id;
				box.id = 'cg-svc-' + s.id;
				box.checked = s.granted === true;
				box.setAttribute('data-cg-category', cat.value);
				const label = document.createElement('label');
				label.className = 'cg-label';
				label.htmlFor = box.id;
				label.textContent = s.name;
				item.appendChild(box);
				item.appendChild(label);
				ul.appendChild(item);
			}
			li.appendChild(ul);
		}
	}

	// The category's switch sets all of its services; switching one of
	// them off means the category is no longer accepted whole.
	function changed(e) {
		const t = e.target;
		if (!t || t.type !== 'checkbox') {
			return;
		}
		if (t.name === 'category') {
			for (const box of Array.from(dlg.querySelectorAll('input[name=service]'))) {
				if (box.getAttribute('data-cg-category') === t.value) {
					box.checked = t.checked;
				}
			}
		} else if (t.name === 'service' && !t.checked) {
			const cat = dlg.querySelector('input[name=category][value="' + t.getAttribute('data-cg-category') + '"]');
			if (cat && !cat.disabled) {
				cat.checked = false;
			}
		}
	}

	// showRecord tells a decided visitor their consent ID and the date of
	// their decision, as the proof log has them, with a link to download
	// their own history.
	function showRecord(res) {
		const p = dlg && dlg.querySelector('.cg-record');
		if (!p) {
			return;
		}
		if (res.decided !== true || typeof res.id !== 'string' || typeof res.time !== 'string') {
			p.hidden = true;
			return;
		}
		let when = res.time;
		try {
			when = new Date(res.time).toLocaleString(root.getAttribute('lang') || undefined);
		} catch (e) {
			when = res.time;
		}
		p.textContent = fill(fill(texts.record || '{id} {time}', 'id', res.id), 'time', when) + ' ';
		const a = document.createElement('a');
		a.className = 'cg-link';
		a.href = endpoint + '/history';
		a.setAttribute('download', 'consent-history.json');
		a.textContent = texts.history_link || 'History';
		p.appendChild(a);
		p.hidden = false;
	}

	// loadState asks the endpoint for the site's services and what the
	// visitor's decision grants.
	function loadState() {
		dlg.removeAttribute('data-cg-loaded');
		if (!window.fetch) {
			return;
		}
		fetch(endpoint, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
			.then((r) => r.ok ? r.json() : null)
			.then((res) => {
				if (res && typeof res === 'object') {
					renderServices(res.site_services);
					showRecord(res);
				}
			})
			.catch(() => {})
			.then(() => dlg.setAttribute('data-cg-loaded', ''));
	}

	// ---- The settings dialog, on demand ---------------------------------

	// The settings page: the same dialog, served whole, for when it
	// cannot be put into this page.
	const settingsPage = () => toggle && toggle.href ||
		data('prefix') + 'consent?view=settings&return=' + encodeURIComponent(location.pathname + location.search);

	// A page that requires Trusted Types gets the dialog through a policy
	// of our own, if its CSP allows one; otherwise inserting it is refused
	// and the visitor goes to the settings page.
	let policy = null;
	function trusted(html) {
		const tt = window.trustedTypes;
		if (!tt || typeof tt.createPolicy !== 'function') {
			return html;
		}
		if (!policy) {
			policy = tt.createPolicy('consentgate', {createHTML: (s) => s});
		}
		return policy.createHTML(html);
	}

	// loadDialog fetches the settings dialog (a cached, per-language
	// asset), puts it into the form and sets it to the visitor's state.
	// It resolves to whether the dialog is in the page.
	let loading = null;
	function loadDialog() {
		if (dlg) {
			return Promise.resolve(true);
		}
		if (!loading) {
			// Only an asset of ours, under the prefix.
			const name = /^settings-[a-z0-9-]+\.[0-9a-f]{10}\.html$/.test(data('dialog')) ? data('dialog') : '';
			loading = (window.fetch && name ? fetch(new URL(data('prefix') + name, location.href).href,
				{credentials: 'same-origin'}) : Promise.reject(new Error('no fetch')))
				.then((r) => r.ok ? r.text() : Promise.reject(new Error('dialog ' + r.status)))
				.then((html) => {
					const t = document.createElement('template');
					t.innerHTML = trusted(html);
					const d = t.content.querySelector('dialog.cg-settings');
					if (!d) {
						return false;
					}
					const ret = form.querySelector('input[name=return]');
					form.insertBefore(d, ret ? ret.nextSibling : form.firstChild);
					dlg = d;
					const more = parse(d.getAttribute('data-cg-texts'));
					for (const k of Object.keys(more)) {
						texts[k] = more[k];
					}
					const decided = root.getAttribute('data-cg-decided') === 'true';
					for (const box of Array.from(d.querySelectorAll('input[name=category]'))) {
						if (!box.disabled) {
							box.checked = decided && has(accepted, box.value);
						}
					}
					const gpc = d.querySelector('.cg-gpc');
					if (gpc) {
						gpc.hidden = data('gpc') !== 'true';
					}
					d.addEventListener('change', changed);
					d.addEventListener('close', closed);
					d.addEventListener('keydown', keydown);
					return true;
				})
				.catch(() => false)
				.then((ok) => {
					loading = null;
					return ok;
				});
		}
		return loading;
	}

	function openSettings() {
		if (isOpen() || loading) {
			return;
		}
		returnTo = document.activeElement;
		loadDialog().then((ok) => {
			if (!ok) {
				location.assign(settingsPage());
			} else if (!isOpen()) {
				showSettings();
			}
		});
	}

	function showSettings() {
		loadState();
		hideErrors();
		modal = false;
		if (typeof dlg.showModal === 'function') {
			try {
				dlg.showModal();
				modal = true;
			} catch (e) {
				dlg.setAttribute('open', '');
			}
		} else {
			dlg.setAttribute('open', '');
		}
		// Focus the title (tabindex=-1), so the dialog reads from the top and
		// the rest of a key press that opened it (Enter on a link acts on
		// keydown) cannot tick a box or submit the form.
		const title = dlg.querySelector('.cg-title');
		if (title) {
			title.focus();
		}
	}

	function closeSettings() {
		if (!isOpen()) {
			return;
		}
		if (typeof dlg.close === 'function') {
			dlg.close(); // fires close
		} else {
			dlg.removeAttribute('open');
			closed();
		}
	}

	function closed() {
		modal = false;
		if (location.hash === '#' + anchor && window.history && history.replaceState) {
			history.replaceState(history.state, '', location.pathname + location.search);
		}
		const el = returnTo;
		returnTo = null;
		focusBack(el);
	}

	function keydown(e) {
		if (e.key === 'Escape' && !modal) { // a modal dialog closes itself
			e.preventDefault();
			closeSettings();
			return;
		}
		if (e.key !== 'Tab') {
			return;
		}
		// Keep focus in the open dialog.
		const f = Array.from(dlg.querySelectorAll('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])'))
			.filter((x) => !x.disabled && visible(x));
		if (!f.length) {
			return;
		}
		const first = f[0];
		const last = f[f.length - 1];
		if (e.shiftKey && (document.activeElement === first || !dlg.contains(document.activeElement))) {
			e.preventDefault();
			last.focus();
		} else if (!e.shiftKey && (document.activeElement === last || !dlg.contains(document.activeElement))) {
			e.preventDefault();
			first.focus();
		}
	}

	root.addEventListener('click', (e) => {
		const t = e.target.closest && e.target.closest('[data-cg-open], [data-cg-close]');
		if (!t || !root.contains(t)) {
			return;
		}
		e.preventDefault();
		if (t.hasAttribute('data-cg-open')) {
			openSettings();
		} else {
			closeSettings();
		}
	});

	// Links to #<anchor> anywhere in the page open the settings.
	document.addEventListener('click', (e) => {
		if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
			return;
		}
		const a = e.target.closest && e.target.closest('a[href]');
		if (!a || root.contains(a) || a.hash !== '#' + anchor || a.origin !== location.origin ||
			a.pathname !== location.pathname || a.search !== location.search) {
			return;
		}
		e.preventDefault();
		openSettings();
	});
	window.addEventListener('hashchange', () => {
		if (location.hash === '#' + anchor) {
			openSettings();
		}
	});

	// A page restored from the back-forward cache may show an old state.
	window.addEventListener('pageshow', (e) => {
		if (!e.persisted || !window.fetch) {
			return;
		}
		fetch(endpoint, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
			.then((r) => r.ok ? r.json() : null)
			.then((res) => {
				if (res && res.decided === true && res.categories && typeof res.categories === 'object') {
					apply(res, false);
				}
			})
			.catch(() => {});
	});

	restore();
	if (location.hash === '#' + anchor) {
		openSettings();
	}
	// Set up: every control works from here on. Tests (and the page's own
	// scripts) wait for this, not for the script to have started: a setup
	// that failed half-way must not look ready.
	root.setAttribute('data-cg-ready', '');
})();
