-- HTTP bids on one hot lot from wrk (bench/hot_lot.py): every connection bids in a closed
-- loop, one bid in flight per bidder, each bid one step above the price its bidder last saw.
--
--   wrk -t T -c N -d 8s -s bench/wrk/bid.lua URL -- TOKENS LISTING CURRENT SEQ RUN STEP
--
-- TOKENS is a file with one bearer token per line (N bidders); CURRENT and SEQ the auction's
-- price and seq when the load starts; RUN a prefix that makes every ref unique; STEP the
-- auction's increment in fen. wrk shares one Lua state among a thread's connections and does
-- not say which connection a response came on, so a bidder is tied to its bid by the `ref`
-- every answer repeats (accepted or problem JSON): a thread takes an idle bidder for each
-- request and frees it with its answer. The price is learnt from the answer alone (an
-- accepted bid's `amount_fen` and `seq`, a rejection's `current_fen` and `seq`): no GET.
-- done() prints one JSON line: answered commands (200, 409, 422: each a locked transaction),
-- accepted bids, other statuses, wrk's transport errors and latency percentiles (µs).

local threads = {}
local started = 0

function setup(thread)
   thread:set("tid", started)
   started = started + 1
   table.insert(threads, thread)
end

local bidders, idle, in_flight = {}, {}, {}
local path, run, step
local sent = 0
answered, accepted, others = 0, 0, 0

function init(args)
   local file, listing, current, seq = args[1], args[2], tonumber(args[3]), tonumber(args[4])
   run, step = args[5], tonumber(args[6])
   local nthreads = tonumber(args[7])
   path = "/api/v1/auctions/" .. listing .. "/bids"
   local i = 0
   for token in io.lines(file) do
      if i % nthreads == tid then
         table.insert(bidders, { auth = "Bearer " .. token, current = current, seq = seq })
         table.insert(idle, #bidders)
      end
      i = i + 1
   end
end

function request()
   -- A connection whose answer never came (a transport error) reconnects and asks again:
   -- its bidder is still marked in flight, so take back any one of them.
   local b = table.remove(idle)
   if b == nil then
      local ref
      ref, b = next(in_flight)
      in_flight[ref] = nil
   end
   sent = sent + 1
   local ref = run .. "-" .. tid .. "-" .. sent
   in_flight[ref] = b
   local who = bidders[b]
   local body = '{"amount_fen":' .. (who.current + step) .. ',"ref":"' .. ref
      .. '","based_on_seq":' .. who.seq .. '}'
   return wrk.format("POST", path,
      { ["Authorization"] = who.auth, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
   if status == 200 then
      answered, accepted = answered + 1, accepted + 1
   elseif status == 409 or status == 422 then
      answered = answered + 1
   else
      others = others + 1
   end
   local ref = body:match('"ref":"([^"]*)"')
   local b = ref and in_flight[ref]
   if b == nil then
      return -- freed by request() above when its connection asks again
   end
   in_flight[ref] = nil
   table.insert(idle, b)
   local who = bidders[b]
   local seq = tonumber(body:match('"seq":(%d+)'))
   local price = tonumber(body:match('"amount_fen":(%d+)') or body:match('"current_fen":(%d+)'))
   if seq and price and seq >= who.seq then
      who.current, who.seq = price, seq
   end
end

function done(summary, latency, requests)
   local a, acc, o = 0, 0, 0
   for _, thread in ipairs(threads) do
      a = a + thread:get("answered")
      acc = acc + thread:get("accepted")
      o = o + thread:get("others")
   end
   local e = summary.errors
   io.write(string.format(
      '{"answered": %d, "accepted": %d, "others": %d, "seconds": %.3f, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"p50_us": %d, "p99_us": %d}\n',
      a, acc, o, summary.duration / 1e6, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
