package mongo

// Hooks for the external tests.

// SetMidRead sets what Find runs once its collection is resolved.
func (s *Store) SetMidRead(hook func()) { s.c.midRead = hook }

// Closing reports that Close waits for reads in progress.
func (s *Store) Closing() bool { return s.c.reads.Closing() }

var ErrClosed = errClosed
