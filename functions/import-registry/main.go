// Command import-registry is the import-registry Lambda function: it validates and loads projects.csv, workers.csv and departments.csv.
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
		fmt.Fprintln(os.Stderr, "import-registry:", err)
		os.Exit(1)
	}
	lambda.Start(handler.NewImportRegistry(d).Handle)
}
