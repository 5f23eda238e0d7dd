package feed

import (
	"strings"
	"testing"
)

func TestIntake(t *testing.T) {
	csv := "account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after\n" +
		"6228480010000001,R1,2026-10-10,C,100.00,deposit,9558800200112233,建设单位,E1,,100.00\n" +
		"6228480010000001,R2,2026-10-11,D,10.00,bogus,6228480010100001,王,E2,,90.00\n" + // rejected: its balance too
		"6228480010000001,R1,2026-10-10,C,100.00,deposit,9558800200112233,建设单位,E1,,100.00\n" + // repeat
		"6228480010000001,R3,2026-10-12,D,1.234,fee,,,,,88.77\n" // rejected amount: its balance too
	in := NewIntake(func(a string) (string, string) { return "h:" + a[len(a)-4:], "m" })
	var entries, balances, dups int
	var rejects []Reject
	_, err := Parse(strings.NewReader(csv), "t.csv", func(it Item) error {
		d := in.Take(it)
		switch {
		case d.Entry != nil:
			entries++
			if d.Entry.CounterpartyHash != "h:2233" {
				t.Errorf("counterparty not hashed through cp: %+v", d.Entry)
			}
		case d.Balance != nil:
			balances++
		case d.Reject != nil:
			rejects = append(rejects, *d.Reject)
		case d.Duplicate:
			dups++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rows 3 and 5 are rejected with their balance_after; row 4 repeats
	// row 2 (its balance is taken again: balances are keyed by file order).
	if entries != 1 || dups != 1 || balances != 2 {
		t.Errorf("entries %d, duplicates %d, balances %d; want 1, 1, 2", entries, dups, balances)
	}
	if len(rejects) != 4 || rejects[0].Line != 3 || rejects[1].Line != 3 || rejects[2].Line != 5 || rejects[3].Line != 5 {
		t.Fatalf("rejects = %+v", rejects)
	}
	if !strings.Contains(rejects[1].Reason, "rejected row") {
		t.Errorf("balance reject reason = %q", rejects[1].Reason)
	}
}
