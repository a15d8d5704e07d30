// Convolutions computed straight from batch-last images [C, H, W, N] by CMedNNKernels' gathered products: each
// (input channel, kernel tap) of an output position is a pointer to the N samples of one input pixel, so neither
// im2col's copy (4× the input for the AE's 4×4/2 kernels), OpenBLAS's packing of that copy, nor col2im's scatter
// is needed. Used for the forward passes, the data gradients and the weight gradients of Conv2d and
// ConvTranspose2d. Work is split across the threads by output rows (or weight rows); each value is summed in a
// fixed order whatever the split, so results do not depend on the thread count.
import CMedNNKernels

enum DirectConvolution {
    /// Conv2d: y [O, Ho, Wo, N] from x [C, H, W, N] and weight [O, C, k, k], Ho = (H + 2p − k)/s + 1.
    static func convolve(
        _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, batch: Int,
        weight: UnsafePointer<Float>, outChannels: Int, kernel k: Int, stride s: Int, padding p: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        let outHeight = (height + 2 * p - k) / s + 1, outWidth = (width + 2 * p - k) / s + 1
        let taps = channels * k * k
        withZeros(batch) { zero in
            Parallel.chunks(outHeight, work: outChannels * taps * outHeight * outWidth * batch) { rows in
                var sources = [UnsafePointer<Float>?](repeating: zero, count: outWidth * taps)
                var offsets = [Int](repeating: 0, count: outWidth)
                for oy in rows {
                    gatherTaps(
                        x, channels: channels, height: height, width: width, batch: batch, kernel: k, stride: s, padding: p,
                        row: oy, outWidth: outWidth, zero: zero, into: &sources, offsets: &offsets)
                    med_gather_gemm(outChannels, taps, batch, weight, taps, sources, offsets, outWidth, 0, y, outHeight * outWidth * batch)
                }
            }
        }
    }

    /// The weight gradient of a convolution over `image` [C, H, W, N] whose output gradient is `a` [M, Ho, Wo, N]:
    /// dW [M, C·k·k] += Σ over output positions and samples of a[m, position] · image's tap t at that position.
    /// Conv2d's dW is this over its input; ConvTranspose2d's ([C, O, k, k]) is this over dY with a = its input x,
    /// the transposed convolution's input pixels being the positions at which dY's taps are read.
    static func weightGradient(
        _ a: UnsafePointer<Float>, rows m: Int, image: UnsafePointer<Float>, channels: Int, height: Int, width: Int, batch: Int,
        kernel k: Int, stride s: Int, padding p: Int, outHeight: Int, outWidth: Int, into dW: UnsafeMutablePointer<Float>
    ) {
        let taps = channels * k * k
        withZeros(batch) { zero in
            // Threads take dW's rows in blocks of 4 (the kernel's; a row is summed the same way wherever a split puts
            // it) and every position, each row's sum running over the positions in order. A call covers at least 16
            // positions (output rows together), so its sums across lanes are a small share.
            let rowsPerCall = min(outHeight, (16 + outWidth - 1) / outWidth)
            Parallel.chunks((m + 3) / 4, work: m * taps * outHeight * outWidth * batch) { blocks in
                let range = 4 * blocks.lowerBound..<min(4 * blocks.upperBound, m)
                var sources = [UnsafePointer<Float>?](repeating: zero, count: rowsPerCall * outWidth * taps)
                var offsets = [Int](repeating: 0, count: rowsPerCall * outWidth)
                for first in stride(from: 0, to: outHeight, by: rowsPerCall) {
                    let rows = min(rowsPerCall, outHeight - first)
                    for r in 0..<rows {
                        gatherTaps(
                            image, channels: channels, height: height, width: width, batch: batch, kernel: k, stride: s, padding: p,
                            row: first + r, outWidth: outWidth, zero: zero, into: &sources, offsets: &offsets, at: r * outWidth)
                    }
                    med_gather_gemm_acc(
                        range.count, taps, batch, a + range.lowerBound * outHeight * outWidth * batch, outHeight * outWidth * batch,
                        offsets, sources, rows * outWidth, dW + range.lowerBound * taps)
                }
            }
        }
    }

    /// For each output position (row, ox), entry first + ox: where its N samples go (offsets) and, for each
    /// (channel, ky, kx) tap, the input pixel it reads (or `zero` outside the image).
    private static func gatherTaps(
        _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, batch: Int, kernel k: Int, stride s: Int, padding p: Int,
        row oy: Int, outWidth: Int, zero: UnsafePointer<Float>, into sources: inout [UnsafePointer<Float>?], offsets: inout [Int],
        at first: Int = 0
    ) {
        let square = k * k, taps = channels * square, plane = height * width * batch
        sources.withUnsafeMutableBufferPointer { sources in
            for ox in 0..<outWidth {
                offsets[first + ox] = (oy * outWidth + ox) * batch
                let position = sources.baseAddress! + (first + ox) * taps
                for ky in 0..<k {
                    let iy = oy * s - p + ky
                    for kx in 0..<k {
                        let ix = ox * s - p + kx
                        // The same pixel in every channel, one plane apart (outside: `zero` for every channel).
                        let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                        var pixel = inside ? x + (iy * width + ix) * batch : zero
                        let step = inside ? plane : 0
                        var slot = position + ky * k + kx
                        for _ in 0..<channels {
                            slot.pointee = pixel
                            slot += square
                            pixel += step
                        }
                    }
                }
            }
        }
    }

    /// ConvTranspose2d: y [O, outHeight, outWidth, N] from x [C, H, W, N] and weight [C, O, k, k], where output
    /// (oy, ox) sums input (iy, ix) through tap (oy + p − iy·s, ox + p − ix·s). The taps that reach one output
    /// depend only on its phase ((oy + p) mod s, (ox + p) mod s), so each phase is one product with its own
    /// [O, C·⌈k/s⌉²] weights. Outputs beyond the natural size (H − 1)s − 2p + k get 0 (a strided Conv2d's input
    /// rows that no output reads).
    static func transposed(
        _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, batch: Int,
        weight: UnsafePointer<Float>, outChannels: Int, kernel k: Int, stride s: Int, padding p: Int,
        outHeight: Int, outWidth: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let reach = (k + s - 1) / s, taps = channels * reach * reach, plane = height * width * batch
        // phaseWeights[(py·s + px)·O·taps + o·taps + (c·reach + ty)·reach + tx] = W[c, o, py + ty·s, px + tx·s] (0 past k)
        // Read in W's order and written by unchecked pointers, each tap's place worked out once: checked indexing
        // here took a quarter of the transposed convolutions' own (non-kernel) time, and two divisions per weight
        // 0.7% of a training step, on one thread.
        let square = k * k
        let tapPlaces = (0..<square).map { t in
            let (ty, py) = (t / k).quotientAndRemainder(dividingBy: s), (tx, px) = (t % k).quotientAndRemainder(dividingBy: s)
            return (py * s + px) * outChannels * taps + ty * reach + tx
        }
        var phaseWeights = [Float](repeating: 0, count: s * s * outChannels * taps)
        phaseWeights.withUnsafeMutableBufferPointer { phased in
            tapPlaces.withUnsafeBufferPointer { tapPlaces in
                var w = weight
                for c in 0..<channels {
                    for o in 0..<outChannels {
                        let base = phased.baseAddress! + o * taps + c * reach * reach
                        for t in 0..<square { base[tapPlaces[t]] = w[t] }
                        w += square
                    }
                }
            }
        }
        withZeros(batch) { zero in
            phaseWeights.withUnsafeBufferPointer { phaseWeights in
                let positionsPerPhase = (outWidth + s - 1) / s
                Parallel.chunks(outHeight, work: outChannels * taps * outHeight * outWidth * batch) { rows in
                    var sources = [UnsafePointer<Float>?](repeating: zero, count: positionsPerPhase * taps)
                    var offsets = [Int](repeating: 0, count: positionsPerPhase)
                    for oy in rows {
                        let py = (oy + p) % s
                        for px in 0..<s {
                            var count = 0
                            sources.withUnsafeMutableBufferPointer { sources in
                                for ox in stride(from: ((px - p) % s + s) % s, to: outWidth, by: s) {
                                    offsets[count] = (oy * outWidth + ox) * batch
                                    let position = sources.baseAddress! + count * taps
                                    for ty in 0..<reach {
                                        let dy = oy + p - py - ty * s, iy = dy / s
                                        for tx in 0..<reach {
                                            let dx = ox + p - px - tx * s, ix = dx / s
                                            let inside =
                                                py + ty * s < k && px + tx * s < k && dy >= 0 && dx >= 0 && iy < height && ix < width
                                            // The same pixel in every channel, one plane apart (outside: `zero`).
                                            var pixel = inside ? x + (iy * width + ix) * batch : zero
                                            let step = inside ? plane : 0
                                            var slot = position + ty * reach + tx
                                            for _ in 0..<channels {
                                                slot.pointee = pixel
                                                slot += reach * reach
                                                pixel += step
                                            }
                                        }
                                    }
                                    count += 1
                                }
                            }
                            med_gather_gemm(
                                outChannels, taps, batch, phaseWeights.baseAddress! + (py * s + px) * outChannels * taps, taps,
                                sources, offsets, count, 0, y, outHeight * outWidth * batch)
                        }
                    }
                }
            }
        }
    }

    /// N zeros for the taps that fall outside the image (at least one, so that an empty batch has an address too).
    private static func withZeros(_ count: Int, _ body: (UnsafePointer<Float>) -> Void) {
        [Float](repeating: 0, count: max(count, 1)).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
