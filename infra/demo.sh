#!/usr/bin/env bash
# demo.sh — what `make demo` runs: the example scenario end to end on the
# local stack, with a webhook receiver and an SMS sink that verify
# signatures and print what they got.
#
#   1. start the local stack (installed and started by make before this)
#   2. start `wagewatch receiver` on 127.0.0.1:9099 (webhooks at
#      /hook/<dept_id>, the SMS gateway sink at /sms)
#   3. `wagewatch scenario run` the example: registry, bank files and
#      attendance uploaded to the feed bucket, through the queues and
#      functions, scan as of the scenario's moment
#   4. pay the arrears of one project (a new bank file) and scan a day later:
#      the warning clears by itself (动态清零) and the departments are told
#   5. print the open alerts and what the receiver got
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXAMPLE="${DEMO_SCENARIO:-$ROOT/../shared/spec/examples/basic}"
BIN="$ROOT/.local/bin/wagewatch"
LOG="$ROOT/.local/log"
mkdir -p "$LOG"

[[ -d "$EXAMPLE" ]] || { echo "demo: no scenario at $EXAMPLE (the spec folder is expected beside the repository)" >&2; exit 1; }
go build -o "$BIN" ./cmd/wagewatch

export WW_WEBHOOK_SECRET="${WW_WEBHOOK_SECRET:-wagewatch-local-webhook-secret}"
export WW_SMS_GATEWAY_URL="http://127.0.0.1:9099/sms"
export WW_SMS_GATEWAY_KEY_ID="local"
export WW_SMS_GATEWAY_SECRET="$WW_WEBHOOK_SECRET"

receiver_log="$LOG/receiver.jsonl"
: >"$receiver_log"
"$BIN" receiver --addr 127.0.0.1:9099 --log "$receiver_log" >"$LOG/receiver.out" 2>&1 &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -s -o /dev/null --max-time 1 http://127.0.0.1:9099/ && break
  kill -0 $receiver 2>/dev/null || { echo "demo: the receiver did not start:" >&2; cat "$LOG/receiver.out" >&2; exit 1; }
  sleep 0.1
done

echo "== 1. the example scenario through the pipeline: $(basename "$EXAMPLE")"
"$BIN" scenario run "$EXAMPLE" >"$LOG/demo-alerts.jsonl" 2>"$LOG/demo-run.err" || { cat "$LOG/demo-run.err" >&2; exit 1; }
grep -v '^hook\|^sms' "$LOG/demo-run.err" || true
echo
echo "== open alerts as of $(sed -n 's/^as_of: *//p' "$EXAMPLE/scenario.yaml")"
cat "$LOG/demo-alerts.jsonl"

# 动态清零: TS-QZ-002 re-pays 刘海军's returned wage and the short-paid
# difference of 陈小龙; the next day's scan clears both of its warnings.
pay="$(mktemp -d)"
cp -r "$EXAMPLE/." "$pay/"
rm -f "$pay/expected_alerts.jsonl"
cat >"$pay/bank/zz-ccb-repay-2611.csv" <<'CSV'
account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after
6217000020000002,CCB2611200001,2026-11-20,D,5760.00,payroll,6217000020200002,刘海军,PAY-QZ002-2610-02R,,
6217000020000002,CCB2611200002,2026-11-20,D,1000.00,payroll,6217000020200003,陈小龙,PAY-QZ002-2610-03B,,
CSV
echo
echo "== 2. TS-QZ-002 pays what it owed on 2026-11-20; the scan of 2026-11-21 09:00"
"$BIN" scenario run "$pay" --keep --as-of 2026-11-21T09:00:00+08:00 >"$LOG/demo-alerts-2.jsonl" 2>"$LOG/demo-run-2.err" || { cat "$LOG/demo-run-2.err" >&2; exit 1; }
grep -v '^hook\|^sms' "$LOG/demo-run-2.err" | grep -v 'duplicate of' || true
echo
echo "== open alerts as of 2026-11-21 09:00 (TS-QZ-002's warnings cleared by themselves)"
cat "$LOG/demo-alerts-2.jsonl"
rm -rf "$pay"

echo
echo "== what the departments received (webhook receiver and SMS sink, signatures checked)"
cat "$LOG/receiver.out" | grep -E '^(hook|sms) ' || true
echo
hooks=$(grep -c '"kind":"webhook"' "$receiver_log" || true)
sms=$(grep -c '"kind":"sms"' "$receiver_log" || true)
bad=$(grep -c '"signature":"BAD"' "$receiver_log" || true)
echo "demo: $(wc -l <"$LOG/demo-alerts-2.jsonl") open alerts; the receiver got $hooks webhooks and $sms SMS, $bad with a bad signature (log: .local/log/receiver.jsonl)"
[[ "$bad" == 0 ]]
