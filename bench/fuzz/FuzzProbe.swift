// libFuzzer target for the image probes ingest runs on untrusted files: DICOM through DCMTK (and the JPEG,
// JPEG 2000 and RLE checks in front of it), PNG, JPEG (header, then normalize's decode) and JPEG 2000. bench/fuzz.sh builds it with
// -sanitize=fuzzer,address -D FUZZING and runs it for a fixed time; a plain build gets a stub main that says so.
import Foundation
import MedImage
import Stages

#if FUZZING
    /// Each input is written to a file (the DICOM parser reads paths) and probed as ingest probes it, every frame.
    func fuzzProbe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let path = "/dev/shm/medad-fuzz-\(getpid())"
        let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
        guard FileManager.default.createFile(atPath: path, contents: bytes) else { return 0 }
        _ = ImageProbe.examine(ProbeRequest(path: path, allFrames: true, maxPixels: 4_000_000))
        // Ingest reads a plain JPEG file's header only; normalize decodes it in-process, so that decoder is fuzzed too.
        if FileSignature.of([UInt8](bytes.prefix(132))) == .jpeg { _ = try? JPEGCodec.decode([UInt8](bytes), maxPixels: 4_000_000) }
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzer(
        _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// SwiftPM links an executable's entry point under this name; it hands the command line to libFuzzer's driver.
    @_cdecl("medad_fuzz_main")
    func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzer(&count, &arguments) { fuzzProbe($0, $1) }
    }
#else
    @main
    struct FuzzProbeStub {
        static func main() {
            print("medad-fuzz is a libFuzzer target: run bench/fuzz.sh (it builds with -sanitize=fuzzer -D FUZZING)")
        }
    }
#endif
