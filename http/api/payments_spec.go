package api

import (
	"embed"
	"io/fs"
	"sort"
)

// The OpenAPI fragments of the payment, statement, batch and /me
// endpoints. They sit in their own folder (openapi/payments/), outside the
// embedded openapi/*.json that Spec always merges, and are added where
// these endpoints are mounted: api.Deps{SpecFragments:
// api.PaymentsSpecFragments()}.
//
//go:embed openapi/payments/*.json
var paymentSpecFiles embed.FS

// PaymentsSpecFragments returns the fragments documenting MountPayments
// and MountMe, in file name order.
func PaymentsSpecFragments() [][]byte {
	names, err := fs.Glob(paymentSpecFiles, "openapi/payments/*.json")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := paymentSpecFiles.ReadFile(n)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		out = append(out, b)
	}
	return out
}
