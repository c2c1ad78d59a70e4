/* consentgate runtime guard (plain ES2017, no dependencies).
 *
 * The gateway inserts this script as the very first element of every page
 * it rewrites, so it runs before any other script. The server-side rewrite
 * holds the trackers in the markup as sent; this holds the ones that
 * scripts add later: elements inserted or pointed at a tracker in any way
 * (insertion methods, property setters, setAttribute, markup parsed from
 * strings, document.write, the parser itself through a MutationObserver),
 * requests (fetch, XMLHttpRequest, sendBeacon, WebSocket, EventSource) and
 * cookies written through document.cookie or cookieStore.
 *
 * It knows what the server knows: CG_TABLE below is replaced, when the
 * gateway builds this asset, by the table rules.GuardTable compiles from
 * the same rules, and the matcher below gives the same answers as the Go
 * one (a differential test holds it to that). URLs are resolved by the
 * browser's own parser against document.baseURI.
 *
 * A held element is kept inert with the attribute contract of the rewrite
 * (data-consent-category, data-consent-vendor, data-consent-src, …), so the
 * banner script restores it in document order once its category is
 * accepted; held elements not in the document are restored here. Held
 * requests and cookie writes are dropped, never queued. Every hook calls
 * the browser's own function outside of its try block: an error in the
 * guard never reaches the page, and the page's own errors stay its own.
 *
 * Its tag carries the visitor's state: data-cg-accepted (space-separated
 * categories), data-cg-site (the page's registrable domain, when unknown
 * third-party scripts are blocked). The banner script tells it about new
 * decisions with a "consentgate:consent" event on #consentgate. */
(() => {
	'use strict';

	const T = CG_TABLE;
	const OPT = CG_OPTIONS;
	const CATS = ['necessary', 'statistics', 'preferences', 'marketing', 'unclassified'];
	const SCHEMES = ['http:', 'https:', 'ws:', 'wss:'];

	// ---- The matcher (rules.MatchURL, MatchHost, MatchCookie) -------------

	function matcher(t) {
		const exact = new Map();
		const wild = new Map();
		const any = [];
		const cexact = new Map();
		const cglob = [];
		const add = (m, k, r) => {
			const l = m.get(k);
			if (l) {
				l.push(r);
			} else {
				m.set(k, [r]);
			}
		};
		// unfront reads a front-coded run (see rules.GuardTable).
		const unfront = (s) => {
			const out = [];
			let prev = '';
			for (const e of s.split(' ')) {
				prev = prev.slice(0, e.charCodeAt(0) - 48) + e.slice(1);
				out.push(prev);
			}
			return out;
		};
		let order = 0;
		for (const run of t.u) {
			for (const p of unfront(run[1])) {
				const slash = p.indexOf('/');
				const host = slash < 0 ? p : p.slice(0, slash);
				const r = {o: order++, v: run[0], p: slash < 0 ? null : p.slice(slash).split('*')};
				if (host === '*') {
					any.push(r);
				} else if (host.slice(0, 2) === '*.') {
					add(wild, host.slice(2), r);
				} else {
					add(exact, host, r);
				}
			}
		}
		order = 0;
		for (const run of t.k) {
			for (const p of unfront(run[2])) {
				const r = {o: order++, v: run[0], c: run[1], p: p};
				if (r.p.indexOf('*') >= 0) {
					cglob.push(r);
				} else if (!cexact.has(r.p)) {
					cexact.set(r.p, r);
				}
			}
		}

		// globPrefix: the glob, split at its "*"s, matches a prefix of s.
		function globPrefix(segs, s) {
			if (!segs) {
				return true;
			}
			if (s.slice(0, segs[0].length) !== segs[0]) {
				return false;
			}
			let at = segs[0].length;
			for (let i = 1; i < segs.length; i++) {
				const j = s.indexOf(segs[i], at);
				if (j < 0) {
					return false;
				}
				at = j + segs[i].length;
			}
			return true;
		}

		// globFull: pattern, "*" matching any run, matches all of s.
		function globFull(pattern, s) {
			let i = pattern.indexOf('*');
			if (i < 0) {
				return pattern === s;
			}
			if (s.slice(0, i) !== pattern.slice(0, i)) {
				return false;
			}
			s = s.slice(i);
			pattern = pattern.slice(i + 1);
			for (;;) {
				const j = pattern.indexOf('*');
				if (j < 0) {
					return s.length >= pattern.length && s.slice(s.length - pattern.length) === pattern;
				}
				const k = s.indexOf(pattern.slice(0, j));
				if (k < 0) {
					return false;
				}
				s = s.slice(k + j);
				pattern = pattern.slice(j + 1);
			}
		}

		// url returns the vendor index of the first rule matching host and
		// path-and-query, or -1.
		function url(host, pathq) {
			let best = null;
			const consider = (rules) => {
				if (!rules) {
					return;
				}
				for (const r of rules) {
					if (best && r.o >= best.o) {
						return;
					}
					if (globPrefix(r.p, pathq)) {
						best = r;
						return;
					}
				}
			};
			if (host) {
				consider(exact.get(host));
				for (let h = host; ;) {
					consider(wild.get(h));
					const i = h.indexOf('.');
					if (i < 0) {
						break;
					}
					h = h.slice(i + 1);
				}
			}
			consider(any);
			return best ? best.v : -1;
		}

		// host returns [vendor of the first rule for host, or -1; the
		// categories of every rule for host], for connections opened ahead.
		function hostOnly(host) {
			let best = null;
			const cats = [];
			const pick = (rules) => {
				if (!rules) {
					return;
				}
				for (const r of rules) {
					const c = +t.c[r.v];
					if (cats.indexOf(c) < 0) {
						cats.push(c);
					}
				}
				if (!best || rules[0].o < best.o) {
					best = rules[0];
				}
			};
			pick(exact.get(host));
			for (let h = host; h.length > 0;) {
				pick(wild.get(h));
				const i = h.indexOf('.');
				if (i < 0) {
					break;
				}
				h = h.slice(i + 1);
			}
			return best ? [best.v, cats.sort()] : [-1, []];
		}

		// cookie returns the first cookie rule matching name, or null:
		// {v: vendor index, c: category}.
		function cookie(name) {
			const best = cexact.get(name) || null;
			for (const c of cglob) {
				if (best && c.o > best.o) {
					break;
				}
				if (globFull(c.p, name)) {
					return c;
				}
			}
			return best;
		}

		// split resolves u against base with the browser's URL parser and
		// returns [host, path and query] as rules.SplitURL would give
		// them (a trailing dot off the host), or null for a URL that
		// reaches no network host.
		function split(u, base) {
			try {
				const x = new URL(String(u), base);
				if (SCHEMES.indexOf(x.protocol) < 0) {
					return null;
				}
				const h = x.hostname;
				return [h.charAt(h.length - 1) === '.' ? h.slice(0, -1) : h, x.pathname + x.search];
			} catch (e) {
				return null;
			}
		}

		return {url: url, host: hostOnly, cookie: cookie, split: split, id: (v) => t.v[v], category: (v) => +t.c[v]};
	}

	const M = matcher(T);
	if (typeof document === 'undefined') {
		// Loaded outside a page (the differential test): offer the matcher.
		globalThis.consentgateMatcher = M;
		return;
	}

	// ---- State ----------------------------------------------------------

	const P = 'data-consent-';
	const self = document.currentScript;
	const mine = (n) => (self && self.getAttribute('data-cg-' + n)) || '';
	const reportOnly = OPT.reportOnly === true;
	const blockUnknown = OPT.blockUnknown === true;
	const site = mine('site');
	let accepted = [0];
	// services are the vendor IDs granted one by one ("+youtube" words
	// beside the categories): their loads pass whatever their category.
	let services = [];
	const setAccepted = (s) => {
		const acc = [0];
		const svc = [];
		for (const w of String(s || '').split(/\s+/)) {
			if (w.length > 1 && w[0] === '+') {
				svc.push(w.slice(1));
				continue;
			}
			const i = CATS.indexOf(w.toLowerCase());
			if (i > 0 && acc.indexOf(i) < 0) {
				acc.push(i);
			}
		}
		accepted = acc;
		services = svc;
	};
	setAccepted(mine('accepted'));

	// The browser's own functions, taken before any page script can
	// replace them.
	const O = Object;
	const call = Function.prototype.call.bind(Function.prototype.call);
	const desc = (proto, name) => {
		try {
			return proto && O.getOwnPropertyDescriptor(proto, name);
		} catch (e) {
			return undefined;
		}
	};
	const EP = window.Element && Element.prototype;
	const setAttr = EP.setAttribute;
	const getAttr = EP.getAttribute;
	const hasAttr = EP.hasAttribute;
	const removeAttr = EP.removeAttribute;
	const consoleInfo = window.console && console.info;
	const insertBefore = Node.prototype.insertBefore;
	const URL0 = window.URL;
	// The attributes the contract renames to hold an element.
	const RENAMED = ['srcset', 'src', 'href', 'data', 'poster', 'imagesrcset'];

	// ---- Decisions --------------------------------------------------------


	function thirdParty(host) {
		return !!site && host !== site && host.slice(-(site.length + 1)) !== '.' + site;
	}

	// Verdict of one URL: null (passes) or {cats, vendor}.
	// Verdicts are remembered per value, as long as the base URL stays:
	// a value is often judged when set and again when inserted.
	const verdicts = new Map();
	let verdictBase = '';
	function judgeURL(u, how) {
		const base = document.baseURI;
		if (base !== verdictBase || verdicts.size >= 4096) {
			verdicts.clear();
			verdictBase = base;
		}
		const key = how + ' ' + u;
		let v = verdicts.get(key);
		if (v === undefined) {
			v = judgeURLNow(String(u), how, base);
			verdicts.set(key, v);
		}
		return v;
	}

	function judgeURLNow(u, how, base) {
		const x = M.split(u, base);
		if (!x) {
			return null;
		}
		const host = x[0];
		if (how === 'host') {
			const h = M.host(host);
			return h[0] < 0 ? null : {cats: h[1], vendor: M.id(h[0]), host: host};
		}
		const v = M.url(host, x[1]);
		if (v >= 0) {
			return {cats: [M.category(v)], vendor: M.id(v), host: host};
		}
		if (how === 'script' && blockUnknown && thirdParty(host)) {
			return {cats: [4], vendor: '', host: host};
		}
		return null;
	}

	// srcsetURLs returns the URLs of a srcset value (HTML's candidate
	// syntax: URL, then descriptors up to a comma outside parentheses).
	function srcsetURLs(v) {
		const out = [];
		const s = String(v);
		let i = 0;
		const space = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
		while (i < s.length) {
			while (i < s.length && (space(s[i]) || s[i] === ',')) {
				i++;
			}
			const start = i;
			while (i < s.length && !space(s[i])) {
				i++;
			}
			let u = s.slice(start, i);
			if (u.charAt(u.length - 1) === ',') {
				u = u.replace(/,+$/, '');
			} else {
				let depth = 0;
				while (i < s.length && (depth > 0 || s[i] !== ',')) {
					depth += s[i] === '(' ? 1 : s[i] === ')' && depth > 0 ? -1 : 0;
					i++;
				}
			}
			if (u) {
				out.push(u);
			}
		}
		return out;
	}

	const reported = new Set();

	// blocks reports whether a verdict keeps its load from the visitor,
	// logging it in report-only mode (where nothing is held).
	function blocks(v, what) {
		if (!v || v.cats.every((c) => accepted.indexOf(c) >= 0) || v.vendor && services.indexOf(v.vendor) >= 0) {
			return false;
		}
		if (reportOnly) {
			const line = 'consentgate (report only): would hold ' + what + ' from ' + v.host +
				' (' + v.cats.map((c) => CATS[c]).join(' ') + (v.vendor ? ', ' + v.vendor : '') + ')';
			if (consoleInfo && !reported.has(line) && reported.size < 1000) {
				reported.add(line);
				call(consoleInfo, console, line);
			}
			return false;
		}
		return true;
	}

	// The attributes that make an element load, by tag; "srcset" kinds
	// hold candidate lists; "host" ones connect ahead of time.
	function urlAttrs(el) {
		switch (el.localName) {
		case 'script':
			return ['src'];
		case 'img':
			return ['src', 'srcset'];
		case 'source':
			return ['src', 'srcset'];
		case 'iframe':
			return ['src', 'srcdoc'];
		case 'frame':
		case 'embed':
		case 'track':
		case 'audio':
			return ['src'];
		case 'video':
			return ['src', 'poster'];
		case 'object':
			return ['data'];
		case 'link':
			return ['href', 'imagesrcset'];
		case 'input':
			return ['src'];
		}
		return null;
	}

	function isHTML(el) {
		return el && el.namespaceURI === 'http://www.w3.org/1999/xhtml';
	}

	function linkHow(el) {
		const rel = ' ' + String(call(getAttr, el, 'rel') || '').toLowerCase().replace(/\s+/g, ' ') + ' ';
		return rel.indexOf(' preconnect ') >= 0 || rel.indexOf(' dns-prefetch ') >= 0 ? 'host' : 'url';
	}

	// judgeValue decides one attribute value of el.
	function judgeValue(el, name, value) {
		if (value === null || value === undefined) {
			return null;
		}
		if (name === 'srcset' || name === 'imagesrcset') {
			let worst = null;
			for (const u of srcsetURLs(value)) {
				const v = judgeURL(u, 'url');
				if (v && (!worst || v.cats.some((c) => accepted.indexOf(c) < 0))) {
					worst = v;
				}
			}
			return worst;
		}
		if (el.localName === 'link' && name === 'href') {
			return judgeURL(value, linkHow(el));
		}
		if (el.localName === 'input' && String(call(getAttr, el, 'type') || '').toLowerCase() !== 'image') {
			return null;
		}
		return judgeURL(value, el.localName === 'script' ? 'script' : 'url');
	}

	// held elements not in the document, restored here on acceptance.
	const held = new Set();

	// mark makes el inert under the attribute contract.
	function mark(el, v) {
		const cats = v.cats.map((c) => CATS[c]);
		const had = String(call(getAttr, el, P + 'category') || '').split(/\s+/).filter(Boolean);
		for (const c of had) {
			if (cats.indexOf(c) < 0) {
				cats.push(c);
			}
		}
		call(setAttr, el, P + 'category', cats.join(' '));
		if (v.vendor && !call(hasAttr, el, P + 'vendor')) {
			call(setAttr, el, P + 'vendor', v.vendor);
		}
		if (el.localName === 'script' && String(call(getAttr, el, 'type') || '') !== 'text/plain') {
			if (call(hasAttr, el, 'type')) {
				call(setAttr, el, P + 'type', call(getAttr, el, 'type'));
			}
			call(setAttr, el, 'type', 'text/plain');
		}
		held.add(el);
	}

	// holdValue decides what setting attribute name of el to value does:
	// true when it was held (stored as data-consent-<name>), false when the
	// caller should set it.
	function holdValue(el, name, value) {
		try {
			if (!isHTML(el)) {
				return false;
			}
			const names = urlAttrs(el);
			name = String(name).toLowerCase();
			if (!names || names.indexOf(name) < 0) {
				return false;
			}
			if (name === 'srcdoc') {
				// The frame's document has no guard: what it would load is
				// held in its markup (and stays held in that frame).
				const out = neutralise(value, true);
				if (out === value) {
					return false;
				}
				call(setAttr, el, 'srcdoc', String(out));
				return true;
			}
			const v = judgeValue(el, name, value);
			if (!blocks(v, '<' + el.localName + ' ' + name + '>')) {
				if (call(hasAttr, el, P + name)) {
					call(removeAttr, el, P + name); // what was held is replaced
				}
				return false;
			}
			mark(el, v);
			call(setAttr, el, P + name, String(value));
			if (call(hasAttr, el, name)) {
				call(removeAttr, el, name);
			}
			return true;
		} catch (e) {
			return false;
		}
	}

	// check holds what el (already built) would load.
	function check(el) {
		const names = urlAttrs(el);
		if (!names || !isHTML(el)) {
			return;
		}
		for (const n of names) {
			if (call(hasAttr, el, n)) {
				holdValue(el, n, call(getAttr, el, n));
			}
		}
	}

	// checkTree checks node and, for an element or fragment, everything in
	// it: the work is proportional to what is inserted, never the document.
	function checkTree(node) {
		try {
			if (!node || typeof node !== 'object') {
				return;
			}
			if (node.nodeType === 1) {
				check(node);
			}
			if ((node.nodeType === 1 || node.nodeType === 11) && node.firstElementChild) {
				const all = node.querySelectorAll('script,img,source,iframe,frame,embed,track,audio,video,object,link,input');
				for (let i = 0; i < all.length; i++) {
					check(all[i]);
				}
			}
			if (node.nodeType === 1 && node.localName === 'template' && node.content) {
				checkTree(node.content);
			}
		} catch (e) {
			// never into the page
		}
	}

	// ---- Element hooks -----------------------------------------------

	function wrapMethod(proto, name, make) {
		const d = desc(proto, name);
		if (!d || typeof d.value !== 'function') {
			return;
		}
		try {
			O.defineProperty(proto, name, {value: make(d.value), writable: true, configurable: true, enumerable: d.enumerable});
		} catch (e) {
			// leave it
		}
	}

	// Insertion methods: check every node inserted, and what it contains.
	const insertArgs = (n) => function (orig) {
		return function () {
			for (let i = 0; i < arguments.length && i < n; i++) {
				checkTree(arguments[i]);
			}
			return orig.apply(this, arguments);
		};
	};
	for (const proto of [window.Node && Node.prototype]) {
		wrapMethod(proto, 'appendChild', insertArgs(1));
		wrapMethod(proto, 'insertBefore', insertArgs(1));
		wrapMethod(proto, 'replaceChild', insertArgs(1));
	}
	for (const proto of [EP, window.DocumentFragment && DocumentFragment.prototype, window.Document && Document.prototype,
		window.CharacterData && CharacterData.prototype, window.DocumentType && DocumentType.prototype]) {
		for (const m of ['append', 'prepend', 'before', 'after', 'replaceWith', 'replaceChildren']) {
			wrapMethod(proto, m, insertArgs(Infinity));
		}
	}
	wrapMethod(EP, 'insertAdjacentElement', (orig) => function (where, el) {
		checkTree(el);
		return orig.apply(this, arguments);
	});

	// setAttribute and friends.
	wrapMethod(EP, 'setAttribute', (orig) => function (name, value) {
		if (holdValue(this, name, value)) {
			return undefined;
		}
		return orig.apply(this, arguments);
	});
	wrapMethod(EP, 'setAttributeNS', (orig) => function (ns, name, value) {
		if ((ns === null || ns === undefined || ns === '') && holdValue(this, name, value)) {
			return undefined;
		}
		return orig.apply(this, arguments);
	});
	for (const m of ['setAttributeNode', 'setAttributeNodeNS']) {
		wrapMethod(EP, m, (orig) => function (attr) {
			try {
				if (attr && !attr.namespaceURI && holdValue(this, attr.name, attr.value)) {
					return null;
				}
			} catch (e) {
				// fall through
			}
			return orig.apply(this, arguments);
		});
	}

	// Property setters (img.src = …, new Image().src = …, link.href = …).
	function wrapSetter(ctor, prop, attr) {
		const proto = window[ctor] && window[ctor].prototype;
		const d = desc(proto, prop);
		if (!d || typeof d.set !== 'function') {
			return;
		}
		const set = d.set;
		try {
			O.defineProperty(proto, prop, {
				get: d.get,
				set: function (value) {
					if (holdValue(this, attr, value)) {
						return;
					}
					call(set, this, value);
				},
				configurable: true,
				enumerable: d.enumerable,
			});
		} catch (e) {
			// leave it
		}
	}
	wrapSetter('HTMLScriptElement', 'src', 'src');
	wrapSetter('HTMLImageElement', 'src', 'src');
	wrapSetter('HTMLImageElement', 'srcset', 'srcset');
	wrapSetter('HTMLSourceElement', 'src', 'src');
	wrapSetter('HTMLSourceElement', 'srcset', 'srcset');
	wrapSetter('HTMLIFrameElement', 'src', 'src');
	wrapSetter('HTMLIFrameElement', 'srcdoc', 'srcdoc');
	wrapSetter('HTMLFrameElement', 'src', 'src');
	wrapSetter('HTMLEmbedElement', 'src', 'src');
	wrapSetter('HTMLObjectElement', 'data', 'data');
	wrapSetter('HTMLMediaElement', 'src', 'src');
	wrapSetter('HTMLVideoElement', 'poster', 'poster');
	wrapSetter('HTMLTrackElement', 'src', 'src');
	wrapSetter('HTMLLinkElement', 'href', 'href');
	wrapSetter('HTMLLinkElement', 'imageSrcset', 'imagesrcset');
	wrapSetter('HTMLInputElement', 'src', 'src');
	// Attr.value and nodeValue on an attribute already in place.
	for (const prop of ['value', 'nodeValue', 'textContent']) {
		const proto = prop === 'value' ? window.Attr && Attr.prototype : window.Node && Node.prototype;
		const d = desc(proto, prop);
		if (!d || typeof d.set !== 'function') {
			continue;
		}
		const set = d.set;
		try {
			O.defineProperty(proto, prop, {
				get: d.get,
				set: function (value) {
					try {
						if (this.nodeType === 2 && this.ownerElement && !this.namespaceURI &&
							holdValue(this.ownerElement, this.name, value)) {
							return;
						}
					} catch (e) {
						// fall through
					}
					call(set, this, value);
				},
				configurable: true,
				enumerable: d.enumerable,
			});
		} catch (e) {
			// leave it
		}
	}

	// ---- Markup from strings --------------------------------------------

	// neutralise returns markup with every tracker in it held, or the
	// markup itself when nothing is. It is parsed in an inert template,
	// where nothing loads or runs.
	function neutralise(markup, scripts) {
		try {
			const s = String(markup);
			if (s.indexOf('<') < 0) {
				return markup;
			}
			const tpl = document.createElement('template');
			tplSet.call(tpl, s);
			// Scripts in markup set through innerHTML never run, so they
			// are left as they are; document.write's do run.
			const all = tpl.content.querySelectorAll((scripts ? 'script,' : '') +
				'img,source,iframe,frame,embed,track,audio,video,object,link,input');
			let changed = false;
			for (let i = 0; i < all.length; i++) {
				const el = all[i];
				check(el);
				if (held.has(el)) {
					changed = true;
					held.delete(el); // a copy: the page gets the markup
				}
			}
			if (!changed) {
				return markup;
			}
			return tplGet.call(tpl);
		} catch (e) {
			return markup;
		}
	}

	const innerDesc = desc(EP, 'innerHTML');
	const tplSet = innerDesc && innerDesc.set;
	const tplGet = innerDesc && innerDesc.get;
	if (tplSet && tplGet) {
		for (const prop of ['innerHTML', 'outerHTML']) {
			const d = desc(EP, prop);
			if (!d || typeof d.set !== 'function') {
				continue;
			}
			const set = d.set;
			try {
				O.defineProperty(EP, prop, {
					get: d.get,
					set: function (value) {
						const tag = this && this.localName;
						call(set, this, tag === 'script' || tag === 'style' || tag === 'template' && prop === 'innerHTML' ? value : neutralise(value, false));
					},
					configurable: true,
					enumerable: d.enumerable,
				});
			} catch (e) {
				// leave it
			}
		}
		const sr = window.ShadowRoot && ShadowRoot.prototype;
		const sd = desc(sr, 'innerHTML');
		if (sd && sd.set) {
			try {
				O.defineProperty(sr, 'innerHTML', {
					get: sd.get,
					set: function (value) {
						call(sd.set, this, neutralise(value, false));
					},
					configurable: true,
					enumerable: sd.enumerable,
				});
			} catch (e) {
				// leave it
			}
		}
		for (const proto of [EP, window.ShadowRoot && ShadowRoot.prototype]) {
			wrapMethod(proto, 'setHTMLUnsafe', (orig) => function (markup) {
				const args = Array.prototype.slice.call(arguments);
				if (args.length > 0) {
					args[0] = neutralise(markup, false);
				}
				return orig.apply(this, args);
			});
		}
		wrapMethod(EP, 'insertAdjacentHTML', (orig) => function (where, markup) {
			const args = Array.prototype.slice.call(arguments);
			if (args.length > 1) {
				args[1] = neutralise(markup, false);
			}
			return orig.apply(this, args);
		});
		const DP = window.Document && Document.prototype;
		for (const m of ['write', 'writeln']) {
			wrapMethod(DP, m, (orig) => function () {
				const args = Array.prototype.slice.call(arguments);
				const joined = args.join('');
				const out = neutralise(joined, true);
				return out === joined ? orig.apply(this, arguments) : orig.call(this, out);
			});
		}
		wrapMethod(window.Range && Range.prototype, 'createContextualFragment', (orig) => function () {
			const f = orig.apply(this, arguments);
			checkTree(f);
			return f;
		});
	}

	// ---- Requests ---------------------------------------------------------

	function requestBlocked(u, what) {
		try {
			return blocks(judgeURL(u, 'url'), what);
		} catch (e) {
			return false;
		}
	}

	const nav = window.navigator;
	if (nav && typeof nav.sendBeacon === 'function') {
		const beacon = nav.sendBeacon;
		try {
			nav.sendBeacon = function (u) {
				if (requestBlocked(u, 'sendBeacon')) {
					return false; // as when the browser refuses to queue it
				}
				return beacon.apply(this, arguments);
			};
		} catch (e) {
			// leave it
		}
	}

	if (typeof window.fetch === 'function') {
		const fetch0 = window.fetch;
		window.fetch = function (input) {
			let u = input;
			try {
				u = input && typeof input === 'object' && 'url' in input ? input.url : input;
			} catch (e) {
				u = input;
			}
			if (requestBlocked(u, 'fetch')) {
				return Promise.reject(new TypeError('Failed to fetch'));
			}
			return fetch0.apply(this, arguments);
		};
	}

	const XP = window.XMLHttpRequest && XMLHttpRequest.prototype;
	const xhrBlocked = new WeakSet();
	wrapMethod(XP, 'open', (orig) => function (method, u) {
		try {
			if (requestBlocked(u, 'XMLHttpRequest')) {
				xhrBlocked.add(this);
			} else {
				xhrBlocked.delete(this);
			}
		} catch (e) {
			// fall through
		}
		return orig.apply(this, arguments);
	});
	wrapMethod(XP, 'send', (orig) => function () {
		if (!xhrBlocked.has(this)) {
			return orig.apply(this, arguments);
		}
		const x = this;
		setTimeout(() => {
			for (const type of ['error', 'loadend']) {
				try {
					x.dispatchEvent(new ProgressEvent(type));
				} catch (e) {
					// nothing
				}
			}
		}, 0);
		return undefined;
	});

	// WebSocket and EventSource to a tracker get a connection that fails
	// at once and reaches nobody: port 1 is on the Fetch standard's list
	// of bad ports, so no network request is ever made.
	for (const name of ['WebSocket', 'EventSource']) {
		const C = window[name];
		if (typeof C !== 'function') {
			continue;
		}
		const W = function (u) {
			const args = Array.prototype.slice.call(arguments);
			if (requestBlocked(u, name)) {
				args[0] = (name === 'WebSocket' ? 'wss' : 'https') + '://consentgate.invalid:1/';
			}
			return Reflect.construct(C, args, new.target || W);
		};
		W.prototype = C.prototype;
		try {
			O.setPrototypeOf(W, C);
			O.defineProperty(C.prototype, 'constructor', {value: W, writable: true, configurable: true});
			window[name] = W;
		} catch (e) {
			// leave it
		}
	}

	// ---- Cookies --------------------------------------------------------

	// cookieName reads the name a document.cookie write sets, as browsers
	// and cookies.SetCookieName do.
	function cookieName(v) {
		let pair = String(v);
		const semi = pair.indexOf(';');
		if (semi >= 0) {
			pair = pair.slice(0, semi);
		}
		const eq = pair.indexOf('=');
		return eq < 0 ? '' : pair.slice(0, eq).trim();
	}

	// cookieRefused reports whether a write of cookie name must be dropped.
	// A write that expires the cookie (deletes it) always passes.
	function cookieRefused(name, deleting, what) {
		try {
			if (deleting) {
				return false;
			}
			const r = M.cookie(name);
			return blocks({cats: [r ? r.c : 4], vendor: r ? M.id(r.v) : '', host: 'cookie ' + name}, what);
		} catch (e) {
			return false;
		}
	}

	const deletes = (v) => /;\s*max-age\s*=\s*(-|0\s*(;|$))/i.test(v) ||
		/;\s*expires\s*=\s*[^;]*19[0-6]\d/i.test(v);

	const DP = window.Document && Document.prototype;
	const cd = desc(DP, 'cookie') || desc(window.HTMLDocument && HTMLDocument.prototype, 'cookie');
	if (cd && cd.set) {
		try {
			O.defineProperty(DP, 'cookie', {
				get: cd.get,
				set: function (v) {
					if (cookieRefused(cookieName(v), deletes(String(v)), 'document.cookie')) {
						return;
					}
					call(cd.set, this, v);
				},
				configurable: true,
				enumerable: cd.enumerable,
			});
		} catch (e) {
			// leave it
		}
	}
	const CS = window.CookieStore && CookieStore.prototype;
	wrapMethod(CS, 'set', (orig) => function (a, b) {
		let name = '';
		let deleting = false;
		try {
			if (a && typeof a === 'object') {
				name = String(a.name);
				deleting = typeof a.expires === 'number' && a.expires <= Date.now();
			} else {
				name = String(a);
			}
		} catch (e) {
			name = '';
		}
		if (cookieRefused(name, deleting, 'cookieStore.set')) {
			return Promise.resolve(undefined);
		}
		return orig.apply(this, arguments);
	});

	// ---- The parser and everything else: a MutationObserver --------------

	const ATTRS = ['src', 'srcset', 'href', 'data', 'poster', 'imagesrcset', 'srcdoc', 'type', 'rel'];
	try {
		new MutationObserver((records) => {
			// The parser reports every node it inserts; by the time this
			// runs, many of them hold others reported in the same batch.
			// Each subtree is searched once, from its topmost added node,
			// so the work stays proportional to what was added.
			const parents = new Set();
			for (const r of records) {
				try {
					if (r.type === 'attributes') {
						const el = r.target;
						if (!(el.localName === 'script' && r.attributeName === 'type')) {
							check(el);
						}
						continue;
					}
					const nodes = r.addedNodes;
					for (let i = 0; i < nodes.length; i++) {
						const node = nodes[i];
						if (node.nodeType !== 1) {
							continue;
						}
						check(node);
						if (node.firstElementChild) {
							parents.add(node);
						}
					}
				} catch (e) {
					// next
				}
			}
			for (const node of parents) {
				try {
					let top = true;
					for (let p = node.parentNode; p; p = p.parentNode) {
						if (parents.has(p)) {
							top = false;
							break;
						}
					}
					if (top) {
						checkTree(node);
					}
				} catch (e) {
					// next
				}
			}
		}).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ATTRS});
	} catch (e) {
		// no observer: the hooks still work
	}

	// ---- Decisions made in this page view ---------------------------------

	const allowedNow = (el) => String(call(getAttr, el, P + 'category') || '').split(/\s+/).filter(Boolean)
		.every((c) => accepted.indexOf(CATS.indexOf(c)) >= 0) || services.indexOf(call(getAttr, el, P + 'vendor') || '') >= 0;

	// Restoring never creates what the page did not have, by the banner
	// script's rule: a restored URL is http(s) or relative, data: only
	// where it is an image; so a page script cannot turn a held element's
	// URL into javascript: and have it restored.
	function safeURL(u, image) {
		try {
			const p = new URL0(u, document.baseURI).protocol;
			return p === 'http:' || p === 'https:' || image && p === 'data:';
		} catch (e) {
			return false;
		}
	}

	function restorable(el) {
		const t = el.localName;
		return (t === 'script' ? ['src'] : RENAMED).every((n) => {
			const v = call(getAttr, el, P + n);
			const parent = el.parentNode;
			const image = t === 'img' && (n === 'src' || n === 'srcset') || t === 'video' && n === 'poster' ||
				t === 'source' && n === 'srcset' && !!parent && parent.localName === 'picture' || t === 'link' && n === 'imagesrcset';
			return v === null || (n === 'srcset' || n === 'imagesrcset' ? srcsetURLs(v) : [v]).every((u) => safeURL(u, image));
		});
	}

	// restore brings back in place what a held element was to load. A
	// script whose src is set again while connected runs, with the
	// handlers the page gave it. Frames, objects and embeds in the
	// document are the banner script's to restore, with their
	// placeholders.
	function restore(el) {
		if (!restorable(el)) {
			return; // stays inert, as the banner script leaves it
		}
		call(removeAttr, el, P + 'category');
		call(removeAttr, el, P + 'vendor');
		if (el.localName === 'script') {
			const t = call(getAttr, el, P + 'type');
			call(removeAttr, el, P + 'type');
			if (t === null) {
				call(removeAttr, el, 'type');
			} else {
				call(setAttr, el, 'type', t);
			}
		}
		for (const n of RENAMED) {
			const v = call(getAttr, el, P + n);
			if (v !== null) {
				call(removeAttr, el, P + n);
				call(setAttr, el, n, v);
			}
		}
		// A link is processed when it is inserted, not when its image
		// candidates change: insert it again, where it is.
		if (el.localName === 'link' && el.parentNode) {
			insertBefore.call(el.parentNode, el, el.nextSibling);
		}
	}

	const banners = ['iframe', 'frame', 'object', 'embed'];

	document.addEventListener('consentgate:consent', (e) => {
		try {
			const root = e.target;
			if (!root || root.id !== 'consentgate' || typeof e.detail !== 'string') {
				return;
			}
			setAccepted(e.detail);
			const ready = Array.from(held).filter((el) => {
				if (el.isConnected && banners.indexOf(el.localName) >= 0) {
					held.delete(el);
					return false;
				}
				return allowedNow(el);
			});
			// In document order; those not in the document after.
			ready.sort((a, b) => {
				if (a.isConnected !== b.isConnected) {
					return a.isConnected ? -1 : 1;
				}
				if (!a.isConnected) {
					return 0;
				}
				return a.compareDocumentPosition(b) & 2 ? 1 : -1;
			});
			for (const el of ready) {
				held.delete(el);
				try {
					restore(el);
				} catch (err) {
					// the next one
				}
			}
		} catch (err) {
			// never into the page
		}
	}, true);
})();
