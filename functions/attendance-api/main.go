// Command attendance-api is the attendance-api Lambda function: it takes
// signed batches of attendance records that devices POST to /v1/attendance,
// checks them against the roster and queues them.
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
		fmt.Fprintln(os.Stderr, "attendance-api:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewAttendanceAPI(d).Handle)
}
