// Text that the C shims wrote into a buffer: up to the first NUL, as UTF-8 (invalid bytes replaced).
extension String {
    init(nulTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
