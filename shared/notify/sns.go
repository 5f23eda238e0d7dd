package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
)

// SNSPublisher is the part of the SNS client SNSSender uses.
type SNSPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNSSender sends text messages with Amazon SNS (Publish to a phone number, as
// a transactional SMS).
type SNSSender struct {
	client SNSPublisher
}

// NewSNSSender returns an SNSSender publishing through client (an
// *sns.Client).
func NewSNSSender(client SNSPublisher) *SNSSender {
	return &SNSSender{client: client}
}

// ErrBadPhone reports a phone number that is not a mainland mobile number of
// 11 digits nor a number in E.164 form.
var ErrBadPhone = errors.New("not a phone number")

// E164 returns the phone number in E.164 form: an 11-digit mainland number
// gains the +86 prefix; "+" followed by 8 to 15 digits is kept. Spaces and
// dashes are ignored.
func E164(phone string) (string, error) {
	p := strings.NewReplacer(" ", "", "-", "").Replace(phone)
	switch {
	case len(p) == 11 && p[0] == '1' && allDigits(p):
		return "+86" + p, nil
	case strings.HasPrefix(p, "+") && len(p) >= 9 && len(p) <= 16 && allDigits(p[1:]):
		return p, nil
	}
	return "", fmt.Errorf("phone %s: %w", MaskPhone(phone), ErrBadPhone)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// snsFinalCodes are SNS error codes that no retry will cure.
var snsFinalCodes = map[string]bool{
	"InvalidParameter":      true,
	"InvalidParameterValue": true,
	"AuthorizationError":    true,
	"OptedOut":              true,
	"EndpointDisabled":      true,
	"NotFound":              true,
	"ValidationError":       true,
	"InvalidClientTokenId":  true,
}

// SendSMS publishes text to phone. A bad number and a client fault that SNS
// names (invalid parameter, authorization) are final; throttling, server
// faults and network errors are retryable.
func (s *SNSSender) SendSMS(ctx context.Context, phone, text string, d Delivery) (bool, error) {
	to, err := E164(phone)
	if err != nil {
		return false, fmt.Errorf("sns sms for delivery %s: %w", d.ID, err)
	}
	_, err = s.client.Publish(ctx, &sns.PublishInput{
		PhoneNumber: aws.String(to),
		Message:     aws.String(text),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
		},
	})
	if err != nil {
		return snsRetryable(err), fmt.Errorf("sns sms to %s for delivery %s: %w", MaskPhone(to), d.ID, err)
	}
	return false, nil
}

func snsRetryable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		if snsFinalCodes[api.ErrorCode()] {
			return false
		}
		return api.ErrorFault() != smithy.FaultClient || strings.Contains(api.ErrorCode(), "Throttl")
	}
	// Transport errors, timeouts and exhausted SDK retries.
	return true
}
