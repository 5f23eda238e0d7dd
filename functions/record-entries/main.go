// Command record-entries is the record-entries Lambda function: it writes queued bank entries and balances to the ledger, each at most once.
// It only reads its configuration, builds its clients once and starts the
// handler of package handler.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wagewatch/wagewatch/shared/handler"
)

func main() {
	d, err := handler.Boot(context.Background(), false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "record-entries:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewRecordEntries(d).Handle)
}
