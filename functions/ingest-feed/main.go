// Command ingest-feed is the ingest-feed Lambda function: it parses a bank file that landed in the feed bucket and queues its entries.
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
	d, err := handler.Boot(context.Background(), true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest-feed:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewIngestFeed(d).Handle)
}
