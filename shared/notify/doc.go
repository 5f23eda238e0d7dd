// Package notify delivers alert changes to the departments that receive them
// (rules.md "Routing and escalation"): one Delivery per recipient and change,
// told by SMS to every number (SMSText, through an SMSSender: Amazon SNS or a
// signed HTTP SMS gateway) and by a signed webhook when the department has a
// URL (WebhookSender, payload in docs/webhook.md). It classifies failures as
// retryable or final and schedules retries (Backoff, GiveUp), and it holds the
// local receiver that plays the departments' endpoints and an SMS gateway
// (NewReceiver).
//
// Only SNSSender imports the AWS SDK. No Delivery, message, log line or error
// carries personal data: a delivery names a project, a rule, a period, a
// number of workers and an amount, never a worker; phone numbers are masked
// in logs; webhook URLs lose their query string in errors.
package notify
