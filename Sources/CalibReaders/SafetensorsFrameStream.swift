import CalibModel
import CalibSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Concatenated safetensors frames on a file descriptor (`-` on the command line), so a producer
/// can pipe batches into calib without writing files. Each frame's size is known from its header:
/// the 8-byte length, the header, then exactly as many data bytes as the largest end offset.
///
/// Frames are read whole into an `OwnedBytes` (a pipe cannot be mapped), which grows as the bytes
/// arrive. A stream that ends between frames is the normal end; one that ends inside a frame is an
/// error naming `stdin#N`.
/// After an error the stream is out of step, so it reports no further frames.
final class SafetensorsFrameStream {
    private let fileDescriptor: Int32
    private var frameIndex = 0
    private var finished = false

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// The next frame as a batch, or nil at the end of the stream.
    func next(hash: ContentHashAlgorithm) throws -> Batch? {
        guard !finished else { return nil }
        do {
            let batch = try readFrame(source: "stdin#\(frameIndex)", hash: hash)
            if batch == nil { finished = true }
            frameIndex += 1
            return batch
        } catch {
            finished = true
            throw error
        }
    }

    private func readFrame(source: String, hash: ContentHashAlgorithm) throws -> Batch? {
        let prefixLength = SafetensorsParser.prefixLength
        // The frame is read into one buffer that grows as bytes arrive (never more than a chunk
        // ahead of them), so a header that declares a huge size on a short stream fails as "ends
        // mid-frame" instead of reserving that memory first.
        let frame = OwnedBytes(count: 0)
        var filled = 0
        func fill(upTo end: Int, _ what: String) throws {
            let start = filled
            while filled < end {
                let want = Swift.min(end - filled, Swift.max(4 << 20, filled))
                guard frame.tryResize(to: filled + want) else {
                    throw InputError(
                        file: source,
                        "cannot allocate \(filled + want) bytes for the frame (\(MemoryLimit.available())); send smaller frames")
                }
                let n = try readFully(
                    into: UnsafeMutableRawBufferPointer(rebasing: frame.pointer[filled..<(filled + want)]), source: source)
                filled += n
                if n < want { break }
            }
            // No byte at all before a frame is the stream's normal end, which the caller sees as filled == 0.
            guard filled == end || filled == 0 else {
                throw InputError(
                    file: source, "stream ends mid-frame: \(filled - start) of the \(end - start) \(what) bytes arrived")
            }
        }

        try fill(upTo: prefixLength, "header-length")
        if filled == 0 { return nil }
        let headerLength = try SafetensorsParser.headerLength(prefix: UnsafeRawBufferPointer(frame.bytes), file: source)
        let dataStart = prefixLength + headerLength
        try fill(upTo: dataStart, "header")
        let entries = try SafetensorsParser.entries(
            header: UnsafeRawBufferPointer(rebasing: frame.bytes[prefixLength..<dataStart]), file: source)

        let dataSize = SafetensorsParser.dataSize(of: entries)
        let frameSize = dataStart + dataSize
        // The whole frame is held in memory: refuse one that cannot fit rather than trap in malloc.
        let memory = MemoryLimit.ceiling()
        guard memory.bytes <= 0 || frameSize <= memory.bytes else {
            throw InputError(
                file: source, "frame of \(frameSize) bytes is larger than \(memory.source) (\(memory.bytes) bytes)")
        }
        try fill(upTo: frameSize, "data")
        _ = frame.tryResize(to: frameSize)  // only shrinks

        let bytes = UnsafeRawBufferPointer(rebasing: frame.bytes[0..<frameSize])
        let tensors = try SafetensorsParser.tensors(
            entries: entries, data: UnsafeRawBufferPointer(rebasing: bytes[dataStart...]), storage: frame, file: source)
        return Batch(source: source, contentHash: ContentHasher.hash(bytes, hash), byteCount: frameSize, tensors: tensors)
    }

    /// Reads until `buffer` is full or the stream ends; returns the bytes read.
    private func readFully(into buffer: UnsafeMutableRawBufferPointer, source: String) throws -> Int {
        var total = 0
        while total < buffer.count {
            let want = min(buffer.count - total, 1 << 30)
            let n = read(fileDescriptor, buffer.baseAddress! + total, want)
            if n > 0 {
                total += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw InputError(file: source, "cannot read standard input: \(MappedFile.lastError())")
            }
        }
        return total
    }
}
