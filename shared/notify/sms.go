package notify

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SMSSender sends one text message to one phone number. retryable reports
// whether a failure may succeed later (throttling, a provider's or the
// network's fault) rather than never (a bad number, a refused request). d is
// the delivery the text tells, for providers that send templates and
// parameters instead of text.
type SMSSender interface {
	SendSMS(ctx context.Context, phone, text string, d Delivery) (retryable bool, err error)
}

// SMSSegment is the number of characters of one Chinese (UCS-2) SMS segment.
const SMSSegment = 70

// minProjectRunes is the shortest a project name is cut to, "…" included.
const minProjectRunes = 6

const smsTag = "【欠薪预警】"

const smsCall = "，请及时处置。"

var severityChinese = map[string]string{
	"blue":   "蓝色",
	"yellow": "黄色",
	"orange": "橙色",
	"red":    "红色",
}

// SMSText is the Chinese text message of a delivery. It names the project,
// the rule (its Chinese name), the severity, the period, the number of workers
// and the amount, and nothing about any worker:
//
//	【欠薪预警】秦州区天水大道改造工程 未按时足额支付工资（黄色），2026-10，涉及2人，金额6760.00元，请及时处置。
//
// An update starts "【欠薪预警】更新：", an escalation "【欠薪预警】升级督办：";
// a resolution is short: "【欠薪预警】已清零：<project> <rule> <period>". A
// count of 0 workers or an amount of 0 is left out. The project name is cut
// with "…" so that the text fits one 70-character segment where it can, and
// when even a cut name leaves no room, the closing "请及时处置" goes.
func SMSText(d Delivery) string {
	rule := clean(d.RuleChinese)
	if rule == "" {
		rule = clean(d.Rule)
	}
	period := clean(d.Period)
	var head, tail string
	switch d.Change {
	case ChangeResolved:
		head = smsTag + "已清零："
		tail = " " + rule + " " + period
	default:
		switch d.Change {
		case ChangeUpdated:
			head = smsTag + "更新："
		case ChangeEscalated:
			head = smsTag + "升级督办："
		default:
			head = smsTag
		}
		var b strings.Builder
		b.WriteString(" " + rule)
		if sev, ok := severityChinese[d.Severity]; ok {
			b.WriteString("（" + sev + "）")
		}
		b.WriteString("，" + period)
		if d.Workers > 0 {
			fmt.Fprintf(&b, "，涉及%d人", d.Workers)
		}
		if d.Amount != 0 {
			b.WriteString("，金额" + d.Amount.String() + "元")
		}
		tail = b.String()
		// The call to action goes only where it still leaves the project
		// name room.
		if SMSSegment-utf8.RuneCountInString(head+tail+smsCall) >= minProjectRunes {
			tail += smsCall
		} else {
			tail += "。"
		}
	}
	room := SMSSegment - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail)
	return head + truncate(clean(d.ProjectName), max(room, minProjectRunes)) + tail
}

// truncate cuts s to n runes, the last of them "…", when it is longer.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// clean turns control characters (line breaks) into spaces and trims s, so
// that a field cannot break the message's layout.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// MaskPhone hides the middle of a phone number for logs: "13800000001" →
// "138****0001", "+8613800000001" → "+86138****0001". A number of fewer than
// 8 digits keeps only its last 2.
func MaskPhone(phone string) string {
	prefix := ""
	if strings.HasPrefix(phone, "+86") {
		prefix, phone = "+86", phone[3:]
	}
	r := []rune(phone)
	if len(r) < 8 {
		if len(r) <= 2 {
			return prefix + strings.Repeat("*", len(r))
		}
		return prefix + strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return prefix + string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
