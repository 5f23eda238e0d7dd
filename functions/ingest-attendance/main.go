// Command ingest-attendance is the ingest-attendance Lambda function: it checks an attendance file against the roster and queues its records.
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
		fmt.Fprintln(os.Stderr, "ingest-attendance:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewIngestAttendance(d).Handle)
}
