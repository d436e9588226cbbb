package main

import (
	"github.com/melaka-gov/ispeks/domain/account"
	"github.com/melaka-gov/ispeks/domain/apiclient"
	"github.com/melaka-gov/ispeks/domain/backup"
	"github.com/melaka-gov/ispeks/domain/employee"
	"github.com/melaka-gov/ispeks/domain/eventlog"
	"github.com/melaka-gov/ispeks/domain/loginprobe"
	"github.com/melaka-gov/ispeks/domain/payment"
	"github.com/melaka-gov/ispeks/domain/statement"
)

// newRegistry is the one place every event type of the product is
// registered: explicit, in the composition root, no init() side effects.
func newRegistry() *eventlog.Registry {
	reg := eventlog.NewRegistry()
	account.Register(reg)
	apiclient.Register(reg)
	backup.Register(reg)
	employee.Register(reg)
	loginprobe.Register(reg)
	payment.Register(reg)
	statement.Register(reg)
	return reg
}
