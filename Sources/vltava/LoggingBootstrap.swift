import Logging

/// Sends every logger's lines to standard error at `levelName` (trace … critical; unknown names mean info).
func bootstrapLogging(levelName: String) {
    let level = Logger.Level(rawValue: levelName.lowercased()) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
