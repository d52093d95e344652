-- public_trades: one time-ordered unique key instead of a key plus a replay index.
--
-- (symbol, exchange_ts, trade_id) identifies a trade exactly as (symbol, trade_id,
-- exchange_ts) did, and it also serves the replay's range scans (symbol, time), so the
-- separate replay index goes: one index to maintain per inserted trade instead of two,
-- and inserts arriving in time order append to the right edge of the index.
-- The identity sequence hands out ids 1000 at a time (ids stay unique, not gap-free).

ALTER TABLE public_trades DROP CONSTRAINT public_trades_pkey;
ALTER TABLE public_trades ADD PRIMARY KEY (symbol, exchange_ts, trade_id);
DROP INDEX public_trades_replay;
ALTER TABLE public_trades ALTER COLUMN id SET CACHE 1000;
