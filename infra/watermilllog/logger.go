package watermilllog

import (
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// Logger adapts l for Watermill's routers, publishers and subscribers.
// Watermill reports every handler added, started and stopped at info level:
// for the portal's operators that is start-up noise, so it goes to debug;
// errors stay errors.
func Logger(l *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(l, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}
