// A network's PyTorch state_dict (parameters, BatchNorm running statistics and batch counters) and loading one
// back with every tensor checked by name: shared by the autoencoder and QDD-Ens's meta-learner.
import Foundation

enum StateDict {
    static func of(parameters: [Parameter], norms: [BatchNorm]) -> [String: SafeTensorValue] {
        var state: [String: SafeTensorValue] = [:]
        for p in parameters { state[p.name] = .float32(p.value) }
        for bn in norms {
            state["\(bn.name).running_mean"] = .float32(Tensor(shape: [bn.runningMean.count], data: bn.runningMean))
            state["\(bn.name).running_var"] = .float32(Tensor(shape: [bn.runningVar.count], data: bn.runningVar))
            state["\(bn.name).num_batches_tracked"] = .int64(shape: [], values: [bn.batchesTracked])
        }
        return state
    }

    /// Loads `state`; a missing, extra or mis-shaped tensor, or one holding NaN or infinity, is an error naming it
    /// (`architecture` says what the network is, for the extra tensor's message).
    static func load(_ state: [String: SafeTensorValue], parameters: [Parameter], norms: [BatchNorm], architecture: String) throws {
        let expected = of(parameters: parameters, norms: norms)
        if let extra = state.keys.sorted().first(where: { expected[$0] == nil }) {
            throw SafeTensorsError("tensor '\(extra)' is not part of this architecture (\(architecture))")
        }
        for p in parameters {
            let t = try SafeTensors.float(state, p.name)
            guard t.shape == p.value.shape else {
                throw SafeTensorsError("tensor '\(p.name)': shape \(t.shape), the model needs \(p.value.shape)")
            }
            try checkFinite(t, p.name)
            p.value = t
        }
        for bn in norms {
            for (suffix, count) in [("running_mean", bn.runningMean.count), ("running_var", bn.runningVar.count)] {
                let t = try SafeTensors.float(state, "\(bn.name).\(suffix)")
                guard t.shape == [count] else {
                    throw SafeTensorsError("tensor '\(bn.name).\(suffix)': shape \(t.shape), the model needs [\(count)]")
                }
                try checkFinite(t, "\(bn.name).\(suffix)")
                if suffix == "running_mean" { bn.runningMean = t.data } else { bn.runningVar = t.data }
            }
            if case .int64(_, let values)? = state["\(bn.name).num_batches_tracked"], let first = values.first { bn.batchesTracked = first }
        }
    }

    /// Weights with NaN or infinity would turn every score into NaN: refuse them where they enter.
    static func checkFinite(_ t: Tensor, _ name: String) throws {
        if let index = t.data.firstIndex(where: { !$0.isFinite }) {
            throw SafeTensorsError(
                "tensor '\(name)' holds a non-finite value (\(t.data[index]) at index \(index)); the model diverged or the file was damaged"
            )
        }
    }
}
