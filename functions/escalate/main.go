// Command escalate is the wagewatch escalate Lambda function.
//
// TODO(lead): placeholder so that the build and the template test work;
// replace with the real wiring of its handler.
package main

func main() {}
