#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Concatenated safetensors frames on a file descriptor (`-` on the command line), so a producer
/// can pipe batches into calib without writing files. Each frame's size is known from its header:
/// the 8-byte length, the header, then exactly as many data bytes as the largest end offset.
///
/// Frames are read whole into an `OwnedBytes` (a pipe cannot be mapped). A stream that ends
/// between frames is the normal end; one that ends inside a frame is an error naming `stdin#N`.
/// After an error the stream is out of step, so it reports no further frames.
final class SafetensorsFrameStream {
    private let fileDescriptor: Int32
    private var frameIndex = 0
    private var finished = false

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// The next frame as a batch, or nil at the end of the stream.
    func next() throws -> Batch? {
        guard !finished else { return nil }
        do {
            let batch = try readFrame(source: "stdin#\(frameIndex)")
            if batch == nil { finished = true }
            frameIndex += 1
            return batch
        } catch {
            finished = true
            throw error
        }
    }

    private func readFrame(source: String) throws -> Batch? {
        let prefixLength = SafetensorsParser.prefixLength
        var prefix = [UInt8](repeating: 0, count: prefixLength)
        let prefixRead = try prefix.withUnsafeMutableBytes { try readFully(into: $0, source: source) }
        if prefixRead == 0 { return nil }
        guard prefixRead == prefixLength else {
            throw InputError(file: source, "stream ends mid-frame: \(prefixRead) of the 8 header-length bytes arrived")
        }
        let headerLength = try prefix.withUnsafeBytes { try SafetensorsParser.headerLength(prefix: $0, file: source) }

        var header = [UInt8](repeating: 0, count: headerLength)
        let headerRead = try header.withUnsafeMutableBytes { try readFully(into: $0, source: source) }
        guard headerRead == headerLength else {
            throw InputError(file: source, "stream ends mid-frame: \(headerRead) of the \(headerLength) header bytes arrived")
        }
        let entries = try header.withUnsafeBytes { try SafetensorsParser.entries(header: $0, file: source) }

        let dataStart = prefixLength + headerLength
        let dataSize = SafetensorsParser.dataSize(of: entries)
        let frameSize = dataStart + dataSize
        // The whole frame is held in memory: refuse one that cannot fit rather than trap in malloc.
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        guard memory <= 0 || frameSize <= memory else {
            throw InputError(
                file: source, "frame of \(frameSize) bytes is larger than this machine's memory (\(memory) bytes)")
        }
        // Read the data in chunks into a buffer that grows as bytes arrive, so a header that declares
        // a huge frame on a short stream fails as "ends mid-frame" instead of reserving the memory.
        var data: [UInt8] = []
        data.reserveCapacity(Swift.min(dataSize, 64 << 20))
        var chunk = [UInt8](repeating: 0, count: Swift.min(Swift.max(dataSize, 1), 4 << 20))
        while data.count < dataSize {
            let want = Swift.min(chunk.count, dataSize - data.count)
            let n = try chunk.withUnsafeMutableBytes {
                try readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), source: source)
            }
            data.append(contentsOf: chunk[0..<n])
            if n < want { break }
        }
        guard data.count == dataSize else {
            throw InputError(file: source, "stream ends mid-frame: \(data.count) of the \(dataSize) data bytes arrived")
        }
        let frame = OwnedBytes(count: frameSize)
        prefix.withUnsafeBytes { frame.pointer.copyMemory(from: $0) }
        header.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: frame.pointer[prefixLength..<dataStart]).copyMemory(from: $0)
        }
        data.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: frame.pointer[dataStart..<frameSize]).copyMemory(from: $0) }

        let bytes = UnsafeRawBufferPointer(rebasing: frame.bytes[0..<frameSize])
        let tensors = try SafetensorsParser.tensors(
            entries: entries, data: UnsafeRawBufferPointer(rebasing: bytes[dataStart...]), storage: frame, file: source)
        return Batch(source: source, contentHash: ContentHasher.hash(bytes), byteCount: frameSize, tensors: tensors)
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
