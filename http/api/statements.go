package api

import (
	"github.com/gin-gonic/gin"

	"github.com/melaka-gov/ispeks/commands/ingest"
)

// issueStatement is POST /statements: the body is a statement (the
// "statement" member of a batch line, statement_id included).
func (w *writer) issueStatement(c *gin.Context) {
	m, ok := w.readObject(c, jsonContent)
	if !ok {
		return
	}
	w.run(c, single{op: "POST /statements", kind: ingest.KindStatement, member: "statement", idField: "statement_id", created: true}, m)
}

// correctStatement is POST /statements/{id}/corrections: the whole new
// content and the reason. Only a correction that changes something is
// recorded; the same content again is a duplicate.
func (w *writer) correctStatement(c *gin.Context) {
	m, ok := w.readObject(c, jsonContent)
	if !ok {
		return
	}
	id := c.Param("id")
	w.run(c, single{op: "POST /statements/" + id + "/corrections", kind: ingest.KindStatementCorrection, member: "correction", idField: "statement_id", id: id}, m)
}
