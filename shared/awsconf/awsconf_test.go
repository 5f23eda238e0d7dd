package awsconf

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantReq  aws.RequestChecksumCalculation
		wantResp aws.ResponseChecksumValidation
		wantPath bool
	}{
		{
			name:     "aws",
			env:      map[string]string{},
			wantReq:  aws.RequestChecksumCalculationWhenSupported,
			wantResp: aws.ResponseChecksumValidationWhenSupported,
		},
		{
			name:     "local",
			env:      map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:18002", "WW_S3_PATH_STYLE": "true"},
			wantReq:  aws.RequestChecksumCalculationWhenRequired,
			wantResp: aws.ResponseChecksumValidationWhenRequired,
			wantPath: true,
		},
		{
			name:     "local with explicit checksum setting",
			env:      map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported"},
			wantReq:  aws.RequestChecksumCalculationWhenSupported,
			wantResp: aws.ResponseChecksumValidationWhenRequired,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "WW_S3_PATH_STYLE", "AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_REGION", "cn-north-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "local")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != "cn-north-1" {
				t.Errorf("region = %q, want the environment's", cfg.Region)
			}
			if cfg.RequestChecksumCalculation != tc.wantReq {
				t.Errorf("request checksum = %v, want %v", cfg.RequestChecksumCalculation, tc.wantReq)
			}
			if cfg.ResponseChecksumValidation != tc.wantResp {
				t.Errorf("response checksum = %v, want %v", cfg.ResponseChecksumValidation, tc.wantResp)
			}
			var o s3.Options
			S3Options()(&o)
			if o.UsePathStyle != tc.wantPath {
				t.Errorf("path style = %v, want %v", o.UsePathStyle, tc.wantPath)
			}
		})
	}
}
