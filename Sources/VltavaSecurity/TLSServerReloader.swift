import Foundation
import Logging
import Synchronization

/// A TLS server's settings that follow their files: the keystore and truststore (and Confluent's credential files)
/// are checked by `reloadIfChanged()` — called off the event loops, by a maintenance thread — and when one changed
/// the settings are built again, so renewed certificates are served without a restart. New connections get the new
/// settings; established ones keep theirs. Files that cannot be used keep the settings in force.
public final class TLSServerReloader: Sendable {
    public let properties: [String: String]
    /// The files the settings are read from.
    public let files: [String]
    private struct Loaded {
        var settings: TLSServerSettings
        var stamps: [FileStamp?]
    }
    private let loaded: Mutex<Loaded>

    public init(properties: [String: String]) throws(SecurityError) {
        self.properties = properties
        files = TLSServerSettings.files(properties)
        let stamps = files.map(FileStamp.of)
        loaded = Mutex(Loaded(settings: try TLSServerSettings(properties: properties), stamps: stamps))
    }

    /// The settings in force.
    public var settings: TLSServerSettings { loaded.withLock { $0.settings } }

    /// Builds the settings again if a file changed: `.success(true)` when new settings were taken, `.failure` (the
    /// settings in force kept) when the changed files cannot be used — a key and certificate written one after the
    /// other are tried again at the next change.
    public func reloadIfChanged() -> Result<Bool, SecurityError> {
        let stamps = files.map(FileStamp.of)
        guard stamps != loaded.withLock({ $0.stamps }) else { return .success(false) }
        do {
            let settings = try TLSServerSettings(properties: properties)
            loaded.withLock { $0 = Loaded(settings: settings, stamps: stamps) }
            return .success(true)
        } catch {
            loaded.withLock { $0.stamps = stamps }
            return .failure(error)
        }
    }
}

extension TLSServerReloader {
    /// `reloadIfChanged()`, saying what happened in the log.
    public func reloadAndLog(logger: Logger, listener: String) {
        switch reloadIfChanged() {
        case .success(true):
            logger.info("TLS key and certificates read again; new connections get them", metadata: [
                "listener": "\(listener)", "files": "\(files.joined(separator: ", "))",
            ])
        case .success(false):
            break
        case let .failure(error):
            logger.warning("TLS files changed but cannot be used; keeping the certificate in force", metadata: [
                "listener": "\(listener)", "error": "\(error.description)",
            ])
        }
    }

    /// Reads the files again every second until the task is cancelled (the registry's and Connect's HTTPS
    /// listeners; off the event loops, on Swift's cooperative pool).
    public func follow(logger: Logger, listener: String) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            reloadAndLog(logger: logger, listener: listener)
        }
    }
}
