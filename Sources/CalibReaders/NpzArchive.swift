import CZlib
import CalibModel
import CalibSupport

/// Reads a .npz: a zip archive of `NAME.npy` members, stored (`np.savez`) or deflated
/// (`np.savez_compressed`), with zip64 records for members over 4 GiB.
///
/// The central directory is the authority for sizes and offsets (local headers may defer them to a
/// data descriptor, flag bit 3). Stored members are parsed in place in the mapping; deflated ones
/// are inflated into an `OwnedBytes`. Every member is CRC-checked, and members that declare an
/// implausible size are refused before any memory is allocated for them.
enum NpzArchive {
    /// Larger than any activation batch we expect, small enough not to exhaust the machine.
    static let maximumMemberSize: UInt64 = 16 << 30
    /// Deflate tops out near 1032:1 (long runs of one byte, e.g. all-zero ReLU outputs, get close),
    /// so a declared ratio above that can only be a forged header.
    static let maximumCompressionRatio: UInt64 = 1100

    /// One central directory entry, sizes already widened by its zip64 extra field.
    struct Member {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc: UInt32
        let compressedSize: UInt64
        let uncompressedSize: UInt64
        let localHeaderOffset: UInt64

        /// The tensor the member holds: its name without `.npy`.
        var tensorName: String { name.hasSuffix(".npy") ? String(name.dropLast(4)) : name }
    }

    /// The tensors of every member, in central directory order.
    static func tensors(in bytes: UnsafeRawBufferPointer, storage: AnyObject, file: String) throws -> [TensorData] {
        let members = try centralDirectory(of: bytes, file: file)
        guard !members.isEmpty else { throw InputError(file: file, "the archive contains no tensors") }
        try checkMemory(members, file: file)
        var seen = Set<ExactName>()
        return try members.map { member in
            func fail(_ reason: String) -> InputError { InputError(file: file, tensor: member.tensorName, reason) }
            guard seen.insert(ExactName(member.name)).inserted else {
                throw fail("duplicate member '\(member.name)' in the archive")
            }
            guard member.name.hasSuffix(".npy"), member.name.count > 4 else {
                throw fail("member '\(member.name)' is not a .npy file (an npz holds only NAME.npy members)")
            }
            let (data, owner) = try contents(of: member, in: bytes, storage: storage, fail: fail)
            return try NpyParser.tensor(
                in: data, name: member.tensorName, storage: owner, file: file, tensor: member.tensorName)
        }
    }

    /// A deflated member declaring more than any batch should hold, or more than deflate can give.
    static func looksLikeBomb(_ member: Member) -> Bool {
        let (bound, overflow) = member.compressedSize.multipliedReportingOverflow(by: maximumCompressionRatio)
        return member.uncompressedSize > maximumMemberSize || (!overflow && member.uncompressedSize > bound)
    }

    /// Deflated members are inflated into memory, all of a batch at once, while the batch before
    /// it may still be held: refuse, naming the member, before allocating anything, when they would
    /// take more than half of what the machine (its cgroup, `ulimit -v`) has left.
    static func checkMemory(_ members: [Member], file: String, available: MemoryLimit = .available()) throws {
        var total: UInt64 = 0
        let budget = UInt64(Swift.max(0, available.bytes / 2))
        // A forged size is refused as such when its member is read.
        let deflated = members.filter { $0.method == 8 && !looksLikeBomb($0) }
        for member in deflated {
            total = total &+ member.uncompressedSize
            guard total > budget else { continue }
            let all = deflated.reduce(UInt64(0)) { $0 &+ $1.uncompressedSize }
            throw InputError(
                file: file, tensor: member.tensorName,
                "the archive's deflated members inflate to \(all) bytes in memory (this one to \(member.uncompressedSize)), "
                    + "more than half of \(available.source) (\(available.bytes) bytes); store the arrays uncompressed "
                    + "(np.savez, not np.savez_compressed): calib maps those instead of reading them into memory")
        }
    }

    // MARK: - Central directory

    static func centralDirectory(of bytes: UnsafeRawBufferPointer, file: String) throws -> [Member] {
        func fail(_ reason: String) -> InputError { InputError(file: file, reason) }
        let end = try endOfCentralDirectory(in: bytes, file: file)
        guard end.offset <= UInt64(bytes.count), end.size <= UInt64(bytes.count) - end.offset else {
            throw fail("the central directory [\(end.offset), +\(end.size)) lies outside the file: truncated or corrupt")
        }
        var position = Int(end.offset)
        let limit = position + Int(end.size)
        var members: [Member] = []
        for index in 0..<end.entryCount {
            guard limit - position >= 46, bytes.u32(at: position) == 0x0201_4b50 else {
                throw fail("central directory entry \(index) is missing or corrupt")
            }
            let flags = bytes.u16(at: position + 8)
            let method = bytes.u16(at: position + 10)
            let crc = bytes.u32(at: position + 16)
            var compressed = UInt64(bytes.u32(at: position + 20))
            var uncompressed = UInt64(bytes.u32(at: position + 24))
            let nameLength = Int(bytes.u16(at: position + 28))
            let extraLength = Int(bytes.u16(at: position + 30))
            let commentLength = Int(bytes.u16(at: position + 32))
            var localOffset = UInt64(bytes.u32(at: position + 42))
            let nameStart = position + 46
            let extraStart = nameStart + nameLength
            let next = extraStart + extraLength + commentLength
            guard next <= limit else { throw fail("central directory entry \(index) runs past the directory") }
            // Names are UTF-8 when flag bit 11 is set; numpy writes ASCII names either way.
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<extraStart]), as: UTF8.self)

            // Zip64 extra field (id 1): 8-byte values for exactly the fields saturated at 0xFFFFFFFF, in order.
            var extra = extraStart
            while extra + 4 <= extraStart + extraLength {
                let id = bytes.u16(at: extra)
                let size = Int(bytes.u16(at: extra + 2))
                let fieldEnd = extra + 4 + size
                guard fieldEnd <= extraStart + extraLength else {
                    throw InputError(file: file, tensor: name, "corrupt extra field in the central directory")
                }
                if id == 0x0001 {
                    var cursor = extra + 4
                    func widen(_ value: inout UInt64) throws {
                        guard value == 0xFFFF_FFFF else { return }
                        guard cursor + 8 <= fieldEnd else {
                            throw InputError(file: file, tensor: name, "zip64 extra field is too short")
                        }
                        value = bytes.u64(at: cursor)
                        cursor += 8
                    }
                    try widen(&uncompressed)
                    try widen(&compressed)
                    try widen(&localOffset)
                }
                extra = fieldEnd
            }
            members.append(
                Member(
                    name: name, flags: flags, method: method, crc: crc, compressedSize: compressed,
                    uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            position = next
        }
        return members
    }

    /// Where the central directory is and how many entries it has, from the (zip64) end record.
    private static func endOfCentralDirectory(
        in bytes: UnsafeRawBufferPointer, file: String
    ) throws -> (offset: UInt64, size: UInt64, entryCount: Int) {
        func fail(_ reason: String) -> InputError { InputError(file: file, reason) }
        // The record is 22 bytes plus a comment of at most 64 KiB, at the very end of the file.
        let recordLength = 22
        guard bytes.count >= recordLength else { throw fail("not a zip archive (too short for an end record): truncated?") }
        let lowest = max(0, bytes.count - recordLength - 0xFFFF)
        guard
            let record = stride(from: bytes.count - recordLength, through: lowest, by: -1).first(where: {
                bytes.u32(at: $0) == 0x0605_4b50 && $0 + recordLength + Int(bytes.u16(at: $0 + 20)) <= bytes.count
            })
        else {
            throw fail("not a zip archive (no end of central directory record): truncated or not an npz")
        }
        guard bytes.u16(at: record + 4) == 0, bytes.u16(at: record + 6) == 0 else {
            throw fail("multi-disk zip archives are not supported")
        }
        var entryCount = UInt64(bytes.u16(at: record + 10))
        var size = UInt64(bytes.u32(at: record + 12))
        var offset = UInt64(bytes.u32(at: record + 16))

        if entryCount == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            // Zip64: a 20-byte locator right before the record points at the zip64 end record.
            let locator = record - 20
            guard locator >= 56, bytes.u32(at: locator) == 0x0706_4b50 else {
                throw fail("zip64 end of central directory locator is missing")
            }
            let zip64Offset = bytes.u64(at: locator + 8)
            guard zip64Offset <= UInt64(locator - 56), bytes.u32(at: Int(zip64Offset)) == 0x0606_4b50 else {
                throw fail("zip64 end of central directory record is missing or outside the file")
            }
            let zip64 = Int(zip64Offset)
            entryCount = bytes.u64(at: zip64 + 32)
            size = bytes.u64(at: zip64 + 40)
            offset = bytes.u64(at: zip64 + 48)
        }
        // Each entry takes at least 46 bytes, which bounds a forged count before we loop on it.
        guard entryCount <= UInt64(bytes.count / 46) else {
            throw fail("the end record claims \(entryCount) entries, more than the file can hold")
        }
        return (offset, size, Int(entryCount))
    }

    // MARK: - Member contents

    /// The member's uncompressed bytes and the object that owns them.
    private static func contents(
        of member: Member, in bytes: UnsafeRawBufferPointer, storage: AnyObject, fail: (String) -> InputError
    ) throws -> (UnsafeRawBufferPointer, AnyObject) {
        guard member.flags & 0x1 == 0 else { throw fail("the member is encrypted: encrypted archives are not supported") }
        guard member.method == 0 || member.method == 8 else {
            throw fail("compression method \(member.method) is not supported (only 0 stored and 8 deflate)")
        }
        let (compressed, uncompressed) = (member.compressedSize, member.uncompressedSize)
        if member.method == 0 {
            guard compressed == uncompressed else {
                throw fail("stored member declares \(compressed) compressed bytes but \(uncompressed) uncompressed")
            }
        } else {
            // Only inflation allocates, so only deflated members can be bombs.
            guard !looksLikeBomb(member) else {
                throw fail(
                    "refusing: looks like a zip bomb (\(compressed) compressed bytes declared to inflate to \(uncompressed))")
            }
        }

        // The local header repeats the name and has its own extra field; its sizes may be zero
        // (data descriptor), so only its lengths are used.
        let headerOffset = member.localHeaderOffset
        guard headerOffset <= UInt64(bytes.count), UInt64(bytes.count) - headerOffset >= 30 else {
            throw fail("local header offset \(headerOffset) lies outside the file: truncated or corrupt")
        }
        let header = Int(headerOffset)
        guard bytes.u32(at: header) == 0x0403_4b50 else {
            throw fail("no local file header at offset \(header): corrupt archive")
        }
        let dataStart = header + 30 + Int(bytes.u16(at: header + 26)) + Int(bytes.u16(at: header + 28))
        guard dataStart <= bytes.count, compressed <= UInt64(bytes.count - dataStart) else {
            throw fail("member data [\(dataStart), +\(compressed)) lies outside the file: truncated or corrupt")
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + Int(compressed))])

        let data: UnsafeRawBufferPointer
        let owner: AnyObject
        if member.method == 0 {
            (data, owner) = (raw, storage)
        } else {
            let inflated = try inflate(raw, expectedSize: Int(uncompressed), fail: fail)
            (data, owner) = (UnsafeRawBufferPointer(rebasing: inflated.bytes[0..<Int(uncompressed)]), inflated)
        }
        let crc = crc32(of: data)
        guard crc == member.crc else {
            throw fail(
                "CRC-32 mismatch (archive says \(hex(member.crc)), data gives \(hex(crc))): the archive is corrupt")
        }
        return (data, owner)
    }

    /// Inflates raw deflate data that must produce exactly `expectedSize` bytes.
    private static func inflate(
        _ input: UnsafeRawBufferPointer, expectedSize: Int, fail: (String) -> InputError
    ) throws -> OwnedBytes {
        // One spare byte tells "exactly as declared" from "more than declared".
        guard let output = OwnedBytes(allocating: expectedSize + 1) else {
            throw fail("cannot allocate \(expectedSize) bytes to inflate the member into (\(MemoryLimit.available()))")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }

        // zlib counts in 32-bit `uInt`, so feed both buffers in chunks.
        let chunk = 1 << 30
        var inputOffset = 0
        var outputOffset = 0
        let outputCapacity = expectedSize + 1
        while true {
            if stream.avail_in == 0 && inputOffset < input.count {
                let n = min(chunk, input.count - inputOffset)
                let next = input.baseAddress!.advanced(by: inputOffset).assumingMemoryBound(to: Bytef.self)
                stream.next_in = UnsafeMutablePointer(mutating: next)  // zlib never writes through it
                stream.avail_in = uInt(n)
                inputOffset += n
            }
            if stream.avail_out == 0 && outputOffset < outputCapacity {
                let n = min(chunk, outputCapacity - outputOffset)
                stream.next_out = output.pointer.baseAddress!.advanced(by: outputOffset).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(n)
                outputOffset += n
            }
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END { break }
            if Int(stream.total_out) > expectedSize {
                throw fail("inflates to more than the \(expectedSize) bytes the archive declares")
            }
            if status == Z_OK { continue }
            // Z_BUF_ERROR: no progress is possible, and the output has room, so the input ran out.
            if status == Z_BUF_ERROR {
                throw fail(
                    "deflate data ends early (inflated \(stream.total_out) of \(expectedSize) bytes): truncated or corrupt")
            }
            let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw fail("deflate data is corrupt: \(detail)")
        }
        guard Int(stream.total_out) <= expectedSize else {
            throw fail("inflates to more than the \(expectedSize) bytes the archive declares")
        }
        guard Int(stream.total_out) == expectedSize else {
            throw fail("inflates to \(stream.total_out) bytes but the archive declares \(expectedSize)")
        }
        return output
    }

    /// zlib's CRC-32, fed in chunks that fit its 32-bit length.
    static func crc32(of data: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < data.count {
            let n = min(1 << 30, data.count - offset)
            crc = CZlib.crc32(crc, data.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian reads at any alignment; callers check bounds first.
    fileprivate func u16(at offset: Int) -> UInt16 { littleEndian(at: offset) }
    fileprivate func u32(at offset: Int) -> UInt32 { littleEndian(at: offset) }
    fileprivate func u64(at offset: Int) -> UInt64 { littleEndian(at: offset) }

    private func littleEndian<T: FixedWidthInteger>(at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
