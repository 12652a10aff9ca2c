import Foundation

/// Renders `count` chunks on several threads and hands them to `sink` in order, with at most
/// `window` chunks rendered and not yet written: exports of a gigabyte use every core without
/// holding the document in memory. Buffers are reused, so their pages are faulted in once.
public enum OrderedChunks {
    public static func run(
        count: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount, window: Int? = nil,
        render: @escaping @Sendable (Int, ByteBuffer) -> Void, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            let buffer = ByteBuffer(capacity: 1 << 16)
            for i in 0..<count {
                buffer.count = 0
                render(i, buffer)
                try sink(buffer.bytes)
            }
            return
        }
        let state = State(count: count, window: window ?? 4 * workers)
        for _ in 0..<workers {
            Thread {
                while let chunk = state.claim() {
                    render(chunk.index, chunk.buffer)
                    state.finish(chunk.index, chunk.buffer)
                }
                state.exit()
            }.start()
        }
        defer { state.cancelAndJoin(workers: workers) }
        for i in 0..<count {
            let buffer = state.take(i)
            try sink(buffer.bytes)
            state.recycle(buffer)
        }
    }

    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        let window: Int
        var next = 0
        var written = 0
        var done: [Int: ByteBuffer] = [:]
        var free: [ByteBuffer] = []
        var cancelled = false
        var exited = 0
        let limit: Int

        init(count: Int, window: Int) {
            limit = count
            self.window = window
        }

        /// The next chunk to render and a buffer for it, once the window has room; nil when done.
        func claim() -> (index: Int, buffer: ByteBuffer)? {
            condition.lock()
            defer { condition.unlock() }
            while !cancelled, next < limit, next >= written + window { condition.wait() }
            if cancelled || next >= limit { return nil }
            let i = next
            next += 1
            let buffer = free.popLast() ?? ByteBuffer(capacity: 1 << 16)
            buffer.count = 0
            return (i, buffer)
        }

        func finish(_ i: Int, _ buffer: ByteBuffer) {
            condition.lock()
            done[i] = buffer
            condition.broadcast()
            condition.unlock()
        }

        func take(_ i: Int) -> ByteBuffer {
            condition.lock()
            defer { condition.unlock() }
            while done[i] == nil { condition.wait() }
            return done.removeValue(forKey: i)!
        }

        func recycle(_ buffer: ByteBuffer) {
            condition.lock()
            written += 1
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }

        func exit() {
            condition.lock()
            exited += 1
            condition.broadcast()
            condition.unlock()
        }

        /// Stops the workers (after the last chunk, or when the sink threw) and waits for them.
        func cancelAndJoin(workers: Int) {
            condition.lock()
            cancelled = true
            condition.broadcast()
            while exited < workers { condition.wait() }
            condition.unlock()
        }
    }
}
