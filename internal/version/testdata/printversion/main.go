// Command printversion prints version.Get(); TestLdflags builds it with the
// release build's -X flags.
package main

import (
	"fmt"

	"github.com/tasuki-sre/tasuki/internal/version"
)

func main() { fmt.Println(version.Get()) }
