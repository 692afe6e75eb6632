/* The waiting room of `/auctions/{id}` while registration is open (docs/ui.md): a countdown to
   the start on the server's clock (the offset from the time the page was rendered), and no
   reloading. Only once registration has closed does it ask the listing's state
   (GET /api/v1/listings/{id}), until the close is settled:
   - an auction was opened → the live page (which counts on to the start over its websocket);
   - the listing failed or was sold by agreement → the same URL, which then says what happened
     and what becomes of the deposit;
   - registration was extended (a single bidder) → the new close and start, counting again. */
(function () {
  'use strict';
  var RX = window.RX;
  var $ = function (id) { return document.getElementById(id); };
  var el = $('waiting-config');
  if (!el || !RX) return;
  var cfg = JSON.parse(el.textContent);
  var offset = Date.parse(cfg.server_time) - Date.now();
  var closes = Date.parse(cfg.closes_at), starts = Date.parse(cfg.starts_at);
  var clock = $('start-clock'), status = $('waiting-status');
  var checking = false, delay = 1000, leaving = false;

  function now() { return Date.now() + offset; }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function beijing(ms) {
    var d = new Date(ms + 8 * 3600 * 1000);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      RX.beijingTime(new Date(ms).toISOString());
  }

  function leave() {
    if (leaving) return;
    leaving = true;
    status.textContent = '正在进入竞价大厅…';
    location.replace('/auctions/' + cfg.listing_id);
  }

  function again() {
    checking = false;
    delay = Math.min(delay * 2, 30000);
  }

  function check() {
    checking = true;
    fetch('/api/v1/listings/' + cfg.listing_id, {
      credentials: 'same-origin', headers: { Accept: 'application/json' }
    }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (listing) {
      if (listing.state !== 'announced') { leave(); return; }
      var newCloses = Date.parse(listing.registration_closes_at);
      if (newCloses > closes) {
        closes = newCloses;
        starts = Date.parse(listing.auction_starts_at);
        $('closes-at').textContent = beijing(closes);
        $('starts-at').textContent = beijing(starts);
        $('closes-left').dataset.deadline = listing.registration_closes_at;
        status.textContent = '报名截止时合格竞买人不足，报名期已延长至 ' + beijing(closes) +
          '，竞价开始时间相应顺延。';
        checking = false;
        delay = 1000;
        return;
      }
      status.textContent = '报名已截止，正在确认竞价安排…';
      setTimeout(again, delay);  // the close is not settled yet: ask again a little later
    }).catch(function () {
      status.textContent = '网络连接不稳定，正在重试…';
      setTimeout(again, delay);
    });
  }

  function tick() {
    var left = starts - now();
    clock.textContent = left >= 86400000 ? RX.longDuration(left) : RX.clock(left);
    if (!checking && !leaving && now() >= closes) check();
  }

  tick();
  setInterval(tick, 1000);
})();
