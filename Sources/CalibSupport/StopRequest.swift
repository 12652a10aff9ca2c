import Foundation
import Synchronization

/// A request to stop, from SIGINT, SIGTERM or SIGHUP, for work that must finish what it holds
/// before exiting (a run commits the batches it observed and marks its session `interrupted`).
///
/// The handler only stores the signal number and restores the default action, so a second signal
/// ends the process at once: a user pressing Ctrl-C twice is never held.
public enum StopRequest {
    static let received = Atomic<Int32>(0)
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers, except for a signal that is ignored (SIGHUP under `nohup`), and
    /// unblocks the three (a process spawned from a thread that blocks them inherits the mask).
    public static func catchingSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in signals {
            let previous = signal(sig, stopHandler)
            // SIG_IGN is 1 on Linux and Darwin.
            if let previous, unsafeBitCast(previous, to: Int.self) == 1 { signal(sig, SIG_IGN) }
        }
    }

    /// The signal received, if any.
    public static var pending: Int32? {
        let s = received.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// The signal's name, as `kill -l` spells it.
    public static func name(_ sig: Int32) -> String {
        switch sig {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(sig)"
        }
    }
}

private func stopHandler(_ sig: Int32) {
    StopRequest.received.store(sig, ordering: .releasing)
    signal(sig, SIG_DFL)
}
