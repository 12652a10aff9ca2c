import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport
import Foundation

/// Reads (maps, validates and hashes) the next batch on its own thread while the current one is
/// observed and committed, so reading and observing overlap on two cores. Holds at most one batch
/// ahead, which bounds memory to two batches' mappings.
final class Prefetcher: @unchecked Sendable {
    private let reader: BatchReader
    private let condition = NSCondition()
    private var slot: Result<Batch?, Error>?
    private var stopped = false

    private let hash: ContentHashAlgorithm

    init(_ reader: BatchReader, hash: ContentHashAlgorithm) {
        self.reader = reader
        self.hash = hash
        let thread = Thread { [self] in produce() }
        thread.name = "calib.prefetch"
        thread.start()
    }

    /// The next batch in input order, nil at the end; rethrows the reader's error in its place.
    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while slot == nil { condition.wait() }
        let result = slot!
        if case .success(.some) = result { slot = nil }  // the end and errors stay: every later call sees them
        condition.broadcast()
        return try result.get()
    }

    /// What `next(timeout:)` found.
    enum Next {
        case batch(Batch)
        /// Nothing arrived in time; the batch being read stays on its way.
        case timedOut

        var batch: Batch? {
            if case .batch(let b) = self { return b }
            return nil
        }
    }

    /// The next batch, `.timedOut` when none arrived within `timeout` seconds, nil at the end.
    func next(timeout: Double) throws -> Next? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while slot == nil {
            if !condition.wait(until: deadline) && slot == nil { return .timedOut }
        }
        let result = slot!
        if case .success(.some) = result { slot = nil }
        condition.broadcast()
        return try result.get().map(Next.batch)
    }

    /// Lets the thread finish after the batch it is reading; call when abandoning the run.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func produce() {
        while true {
            let result = Result { try reader.next(hash: hash) }
            condition.lock()
            while slot != nil && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            slot = result
            condition.broadcast()
            condition.unlock()
            if case .success(.some) = result { continue }
            return
        }
    }
}
