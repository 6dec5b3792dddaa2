/// Where the CDC task stands in the change stream, without I/O: which changes a resent stream repeats (to skip), and
/// how far the replication slot may be confirmed once Kafka acknowledged records.
///
/// Transactions are known by their commit LSN (pgoutput's BEGIN carries it, so a transaction's changes are emitted as
/// they arrive, before its COMMIT). Offsets are Debezium's: `lsn_commit` the transaction's commit LSN, `lsn_proc` the
/// change's LSN, `tx_complete` whether the record is the transaction's last.
struct CdcPosition {
    /// The last transaction emitted whole.
    private(set) var emittedCommit: UInt64 = 0
    /// Within the transaction after it, the last change emitted.
    private(set) var emittedChange: (txCommit: UInt64, lsn: UInt64)?
    /// Everything before this position was read and needs nothing more from the slot once Kafka has the records.
    private(set) var seenEnd: UInt64 = 0
    /// The commit's end LSN of each transaction emitted whole and not yet acknowledged.
    private var commitEnds: [UInt64: UInt64] = [:]
    /// The offset of the last record emitted in this session.
    private var lastEmitted: ConnectValue?
    private var openTransaction: UInt64?

    init(stored offset: ConnectValue? = nil) {
        guard let offset, let commit = offset[entry: "lsn_commit"]?.integerValue else { return }
        let commitLSN = UInt64(bitPattern: commit)
        if offset[entry: "tx_complete"]?.booleanValue == true {
            emittedCommit = commitLSN
        } else {
            emittedChange = (commitLSN, UInt64(bitPattern: offset[entry: "lsn_proc"]?.integerValue ?? 0))
        }
    }

    /// The last transaction's commit LSN, for Debezium's `sequence`.
    var lastCommit: UInt64? {
        emittedChange.map(\.txCommit) ?? (emittedCommit == 0 ? nil : emittedCommit)
    }

    /// A transaction starts; the LSN at or below which its changes were already emitted (`UInt64.max`: all of them).
    mutating func began(commit: UInt64) -> UInt64 {
        openTransaction = commit
        if commit <= emittedCommit { return .max }
        if let change = emittedChange, change.txCommit == commit { return change.lsn }
        return 0
    }

    /// A record was emitted for the change at `lsn` of the transaction committed at `commit`.
    mutating func emitted(offset: ConnectValue, commit: UInt64, lsn: UInt64, complete: Bool) {
        lastEmitted = offset
        if complete {
            emittedCommit = commit
            emittedChange = nil
        } else {
            emittedChange = (commit, lsn)
        }
    }

    /// A transaction's COMMIT was read; `emittedWhole` when its last record was emitted with it.
    mutating func committed(commit: UInt64, end: UInt64, emittedWhole: Bool) {
        if emittedWhole { commitEnds[commit] = end }
        openTransaction = nil
        seenEnd = max(seenEnd, end)
    }

    /// The server has sent everything up to `walEnd` (only meaningful between transactions).
    mutating func keepalive(walEnd: UInt64) {
        guard openTransaction == nil else { return }
        seenEnd = max(seenEnd, walEnd)
    }

    /// The stream is read again from the slot: a transaction open in the old one is resent whole.
    mutating func restarted() {
        openTransaction = nil
    }

    /// The position the slot may be confirmed at, given the offset of the last record Kafka acknowledged: past its
    /// transaction when that was the transaction's last record, and past everything read when nothing is in flight.
    mutating func confirmable(acknowledged: ConnectValue?) -> UInt64 {
        var target: UInt64 = 0
        if let acknowledged, let commit = acknowledged[entry: "lsn_commit"]?.integerValue,
           acknowledged[entry: "tx_complete"]?.booleanValue == true {
            let commitLSN = UInt64(bitPattern: commit)
            // Past the commit record; a transaction is skipped on restart when its commit LSN is below the position.
            target = commitEnds[commitLSN] ?? commitLSN + 1
            commitEnds = commitEnds.filter { $0.key > commitLSN }
        }
        if lastEmitted == nil || lastEmitted == acknowledged {
            target = max(target, seenEnd)
        }
        return target
    }

    /// The offset a heartbeat carries: the position after the last transaction emitted whole, with what was read
    /// since; nil while a transaction is emitted in part (its offset stands until it is whole).
    mutating func heartbeat(micros: Int64) -> ConnectValue? {
        guard emittedChange == nil, openTransaction == nil else { return nil }
        let offset = Self.offset(commit: emittedCommit, lsn: max(emittedCommit, seenEnd), xid: 0, commitMicros: micros, complete: true)
        lastEmitted = offset
        return offset
    }

    /// Debezium's offset of a streamed change.
    static func offset(commit: UInt64, lsn: UInt64, xid: UInt32, commitMicros: Int64, complete: Bool) -> ConnectValue {
        .map([
            ConnectMapEntry(key: .string("lsn_proc"), value: .int64(Int64(bitPattern: lsn))),
            ConnectMapEntry(key: .string("lsn_commit"), value: .int64(Int64(bitPattern: commit))),
            ConnectMapEntry(key: .string("lsn"), value: .int64(Int64(bitPattern: lsn))),
            ConnectMapEntry(key: .string("txId"), value: .int64(Int64(xid))),
            ConnectMapEntry(key: .string("ts_usec"), value: .int64(commitMicros)),
            ConnectMapEntry(key: .string("tx_complete"), value: .boolean(complete)),
        ])
    }
}
