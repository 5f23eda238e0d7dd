// Command dept-api is the dept-api Lambda function: the departments' HTTP
// API (/v1/alerts…) to list, read, acknowledge and resolve their alerts.
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
		fmt.Fprintln(os.Stderr, "dept-api:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewDeptAPI(d).Handle)
}
