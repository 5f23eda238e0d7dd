// Command escalate is the escalate Lambda function: every 15 minutes it sends
// alerts open and unacknowledged longer than escalate_after_hours to the
// city-level departments as well, once per alert.
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
		fmt.Fprintln(os.Stderr, "escalate:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewEscalate(d).Handle)
}
