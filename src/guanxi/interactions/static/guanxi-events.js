/*
 * Guanxi web behaviour snippet (网页浏览): page views, time on the page and product views from a
 * shop's pages, sent in batches to Guanxi's POST /api/v1/events. No dependencies.
 *
 * Include on every page (the admin page /admin/web-events shows the tag with the key):
 *   <script src="https://crm.example.com/static/interactions/guanxi-events.js"
 *           data-endpoint="https://crm.example.com/api/v1/events" data-key="gxk_..." async></script>
 *
 * - A visitor id is kept in localStorage and in a first-party cookie "guanxi_vid" on the shop's
 *   own domain (so the shop's server can read it at login); a session id is renewed after 30
 *   minutes without activity.
 * - A page view is recorded on load and sent when the page is first hidden (tab switched, page
 *   left or closed) with the seconds it was visible; a page that comes back from the
 *   back/forward cache counts as a new view.
 * - A product page marks its product with data-guanxi-product="42" (and data-guanxi-sku) on any
 *   element, or calls guanxi('product', {id: 42, sku: 'TEA-01'}).
 * - Events are batched; while the page is visible they go with fetch (keepalive, key in the
 *   X-Guanxi-Ingest-Key header: a CORS preflight, answered for the allowed shop origins), when it
 *   is hidden with navigator.sendBeacon (key in the query, text/plain: no preflight needed).
 *
 * Linking a visitor to a customer is NOT done here: a browser must never be able to say "I am
 * customer X". When the visitor logs in, the shop's SERVER calls POST /api/v1/events/identify
 * with its API token and {"visitor_id": <guanxi_vid cookie or guanxi('visitor')>,
 * "customer_external_id": <the shop's customer id>}. guanxi('identify') only returns the visitor
 * id to pass to the shop's own login request; its argument is ignored on purpose.
 *
 * Calls made before the script loaded are kept if the page defines the usual stub:
 *   window.guanxi = window.guanxi || function () { (guanxi.q = guanxi.q || []).push(arguments); };
 */
(function (window, document) {
  "use strict";
  var SESSION_IDLE_MS = 30 * 60 * 1000;
  var FLUSH_MS = 5000;
  var MAX_QUEUE = 50;
  var script = document.currentScript || document.querySelector("script[data-key][src*='guanxi-events']");
  var config = window.guanxiConfig || {};
  var endpoint = config.endpoint || (script && script.getAttribute("data-endpoint"));
  var key = config.key || (script && script.getAttribute("data-key"));
  if (!endpoint || !key) { return; }

  var queue = [];
  var timer = null;
  var view = null; // the current page view, sent with its dwell time when the page is hidden
  var visibleSince = null;
  var visibleMs = 0;

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var id = "";
    for (var i = 0; i < 4; i++) { id += Math.floor(Math.random() * 0x100000000).toString(16); }
    return id;
  }
  function stored(name, value) {
    try {
      if (value === undefined) { return window.localStorage.getItem(name); }
      window.localStorage.setItem(name, value);
    } catch (e) { /* private mode or storage disabled: the cookie still holds the visitor */ }
    return value;
  }
  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }
  function visitorId() {
    var id = stored("guanxi_vid") || cookie("guanxi_vid");
    if (!id) { id = randomId(); }
    stored("guanxi_vid", id);
    document.cookie = "guanxi_vid=" + encodeURIComponent(id) + "; path=/; max-age=63072000; samesite=lax";
    return id;
  }
  function sessionId() {
    var now = Date.now();
    var id = stored("guanxi_sid");
    var last = parseInt(stored("guanxi_seen") || "0", 10);
    if (!id || now - last > SESSION_IDLE_MS) { id = stored("guanxi_sid", randomId()); }
    stored("guanxi_seen", String(now));
    return id;
  }
  function clip(text, length) { return (text || "").slice(0, length); }
  function event(kind, fields) {
    var data = {
      kind: kind,
      occurred_at: new Date().toISOString(),
      visitor_id: visitorId(),
      session_id: sessionId(),
      url: clip(window.location.href, 2000),
      title: clip(document.title, 300),
      referrer: clip(document.referrer, 2000)
    };
    for (var name in fields) { if (fields.hasOwnProperty(name)) { data[name] = fields[name]; } }
    return data;
  }

  function send(hidden) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!queue.length) { return; }
    var body = JSON.stringify({ events: queue.splice(0, queue.length) });
    var beaconUrl = endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + "key=" + encodeURIComponent(key);
    if (hidden && navigator.sendBeacon && navigator.sendBeacon(beaconUrl, body)) { return; }
    if (window.fetch) {
      window.fetch(endpoint, {
        method: "POST",
        body: body,
        keepalive: true,
        credentials: "omit",
        headers: { "Content-Type": "application/json", "X-Guanxi-Ingest-Key": key }
      })["catch"](function () { /* the shop must work on without its analytics */ });
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(beaconUrl, body);
    }
  }
  function enqueue(data) {
    queue.push(data);
    if (queue.length >= MAX_QUEUE) { send(false); } else if (!timer) { timer = setTimeout(send, FLUSH_MS); }
  }

  function startView() {
    view = event("page_view", {});
    visibleMs = 0;
    visibleSince = document.visibilityState === "visible" ? Date.now() : null;
  }
  function hidden() {
    if (visibleSince !== null) { visibleMs += Date.now() - visibleSince; visibleSince = null; }
    if (view) {
      // sent once, on the first hide: later visible stretches of the same view are not counted
      view.dwell_seconds = Math.round(visibleMs / 1000);
      queue.push(view);
      view = null;
    }
    send(true);
  }
  function product(details) {
    details = details || {};
    var fields = {};
    var id = parseInt(details.id, 10);
    if (id > 0) { fields.product_id = id; }
    if (details.sku) { fields.product_sku = clip(String(details.sku), 64); }
    if (fields.product_id || fields.product_sku) { enqueue(event("product_view", fields)); }
  }

  var commands = {
    product: product,
    // identify happens on the shop's server (see the top of this file); this returns the id to
    // send there
    identify: function () { return visitorId(); },
    visitor: function () { return visitorId(); },
    flush: function () { send(false); }
  };
  function guanxi(command) {
    var handler = commands[command];
    return handler ? handler.apply(null, Array.prototype.slice.call(arguments, 1)) : undefined;
  }
  var early = (window.guanxi && window.guanxi.q) || [];
  window.guanxi = guanxi;

  function scan() {
    var marked = document.querySelectorAll("[data-guanxi-product]");
    for (var i = 0; i < marked.length; i++) {
      product({ id: marked[i].getAttribute("data-guanxi-product"), sku: marked[i].getAttribute("data-guanxi-sku") });
    }
  }
  startView();
  for (var j = 0; j < early.length; j++) { guanxi.apply(null, early[j]); }
  // an async script may run before the rest of the page is parsed
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", scan); } else { scan(); }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { hidden(); } else if (visibleSince === null) { visibleSince = Date.now(); }
  });
  window.addEventListener("pagehide", hidden);
  window.addEventListener("pageshow", function (e) { if (e.persisted) { startView(); } });
})(window, document);
