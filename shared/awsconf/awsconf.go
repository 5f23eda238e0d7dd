// Package awsconf builds the aws.Config that every wagewatch binary uses, from
// the standard AWS environment (credentials, AWS_REGION, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE>), so that the same code runs on Lambda and
// against the local stack without knowing which.
//
// Against a local endpoint it asks the SDK to compute request checksums and
// validate response checksums only when an operation requires them: current
// aws-sdk-go-v2 otherwise sends CRC32 trailers in aws-chunked bodies, which the
// local S3 does not read. On AWS nothing changes.
package awsconf

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Local reports whether the environment points the SDK at a local endpoint
// (a generic or service-specific AWS_ENDPOINT_URL is set).
func Local() bool {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// Load reads the standard AWS environment. Endpoint overrides
// (AWS_ENDPOINT_URL_<SERVICE>) are applied by the SDK itself to every client
// built from the returned config.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	all := make([]func(*config.LoadOptions) error, 0, len(opts)+1)
	if Local() {
		all = append(all, func(o *config.LoadOptions) error {
			if os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION") == "" {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			}
			if os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION") == "" {
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
			return nil
		})
	}
	all = append(all, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, all...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// PathStyle reports whether WW_S3_PATH_STYLE asks for path-style S3
// addressing (true on the local stack).
func PathStyle() bool {
	v, err := strconv.ParseBool(os.Getenv("WW_S3_PATH_STYLE"))
	return err == nil && v
}

// S3Options returns the options to pass to s3.NewFromConfig: path-style
// addressing when WW_S3_PATH_STYLE=true.
func S3Options() func(*s3.Options) {
	pathStyle := PathStyle()
	return func(o *s3.Options) {
		if pathStyle {
			o.UsePathStyle = true
		}
	}
}
