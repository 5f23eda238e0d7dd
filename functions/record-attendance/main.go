// Command record-attendance is the record-attendance Lambda function: it stores worker-days, each at most once.
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
		fmt.Fprintln(os.Stderr, "record-attendance:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewRecordAttendance(d).Handle)
}
