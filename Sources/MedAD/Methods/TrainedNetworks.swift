// What a method trained and scores with: its networks (an ensemble's learners; the one network of MC-dropout, a
// layer ensemble or adversarial training) and, for QDD-Ens, the meta-learner that fuses the learners' features.
// It is a collection of the networks, so `models[k]` is network k.
import MedNN

public struct TrainedNetworks: RandomAccessCollection, ExpressibleByArrayLiteral {
    public let networks: [AutoEncoder]
    public let meta: MetaDecoder?

    public init(_ networks: [AutoEncoder], meta: MetaDecoder? = nil) { (self.networks, self.meta) = (networks, meta) }
    public init(arrayLiteral networks: AutoEncoder...) { self.init(networks) }

    public var startIndex: Int { networks.startIndex }
    public var endIndex: Int { networks.endIndex }
    public subscript(k: Int) -> AutoEncoder { networks[k] }

    /// Parameters of all the networks and the meta-learner together.
    public var parameterCount: Int {
        (networks.flatMap(\.parameters) + (meta?.parameters ?? [])).reduce(0) { $0 + $1.value.count }
    }
}
