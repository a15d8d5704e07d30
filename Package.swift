// swift-tools-version: 6.0
import PackageDescription

// DCMTK's pkg-config file is broken on Debian 12 (it names sndfile), so its libraries are linked by name.
let dcmtkLibraries = ["dcmjpls", "dcmtkcharls", "dcmjpeg", "ijg8", "ijg12", "ijg16", "dcmimage", "dcmimgle", "dcmdata", "oflog", "ofstd"]

let package = Package(
    name: "medad",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "medad", targets: ["medad"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // C modules over the native libraries.
        .target(
            name: "CDCMTK",
            cxxSettings: [.unsafeFlags(["-I/usr/include/dcmtk"]), .define("HAVE_CONFIG_H")],
            linkerSettings: dcmtkLibraries.map { .linkedLibrary($0) }
        ),
        .target(name: "CPlatform"),
        // MedNN's direct convolution kernel (AVX-512/AVX2 clones chosen at run time).
        .target(
            name: "CMedNNKernels", cSettings: [.unsafeFlags(["-fno-math-errno", "-fopenmp"])],  // sqrtf vectorises; parallel.c
            linkerSettings: [.linkedLibrary("omp5")]),
        .target(
            name: "CImageCodecs",
            cSettings: [.unsafeFlags(["-I/usr/include/openjpeg-2.5"])],
            linkerSettings: ["png16", "isal", "jpeg", "openjp2"].map { .linkedLibrary($0) }
        ),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CRSVG", providers: [.apt(["librsvg2-dev"])]),
        .systemLibrary(name: "CXXHash", providers: [.apt(["libxxhash-dev"])]),

        // Images: the image type, DICOM through the DCMTK shim, PNG/JPEG/JPEG 2000 codecs, grey-level and resize work.
        .target(name: "MedImage", dependencies: ["CDCMTK", "CImageCodecs"]),
        // The neural-network engine: tensors, layers with forward and backward, losses, Adam, safetensors.
        .target(name: "MedNN", dependencies: ["COpenBLAS", "CMedNNKernels"]),
        // The science: phantoms, datasets, methods, scores, metrics; charts (SVG, PNG through librsvg) and the report.
        .target(
            name: "MedAD",
            dependencies: ["MedImage", "MedNN", "CRSVG", .product(name: "Mustache", package: "swift-mustache")]),
        // The generic runner: manifest, DAG, scheduler, run directory, fingerprints, lock, CSV, progress.
        .target(
            name: "Pipeline",
            dependencies: [
                "Yams", "CPlatform", "CXXHash",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The concrete stage kinds and their registry.
        .target(
            name: "Stages",
            dependencies: [
                "Pipeline", "MedAD", "MedImage", "CPlatform",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .executableTarget(
            name: "medad",
            dependencies: [
                "Pipeline", "Stages", "MedImage", "MedNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Benchmarks' own programs (bench/README.md); not part of the medad product.
        .executableTarget(name: "medad-bench-nn", dependencies: ["MedNN", "MedAD", "Pipeline"], path: "bench/nn"),
        // libFuzzer target over ingest's probes; bench/fuzz.sh builds it with -sanitize=fuzzer -D FUZZING.
        .executableTarget(name: "medad-fuzz", dependencies: ["MedImage", "Stages"], path: "bench/fuzz"),

        .testTarget(name: "PipelineTests", dependencies: ["Pipeline"]),
        .testTarget(name: "MedImageTests", dependencies: ["MedImage", "COpenBLAS"], exclude: ["Fixtures"]),
        .testTarget(name: "MedADTests", dependencies: ["MedAD", "MedNN", "Pipeline"], exclude: ["Fixtures"]),
        .testTarget(name: "MedNNTests", dependencies: ["MedNN"], exclude: ["Fixtures"]),
        .testTarget(
            name: "StagesTests", dependencies: ["Stages", "Pipeline", "MedImage", "MedAD", "MedNN", "medad"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
