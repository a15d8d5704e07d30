// The stages' dependency graph: order, cycles, descendants.

struct StageGraph {
    let names: [String]
    let upstream: [String: [String]]

    init(_ stages: [StageDeclaration]) {
        names = stages.map(\.name)
        upstream = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, $0.after) })
    }

    /// Stages that list `name` in their `after`.
    func downstream(of name: String) -> [String] {
        names.filter { upstream[$0, default: []].contains(name) }
    }

    /// `name` and every stage that depends on it, directly or not.
    func descendants(of name: String) -> Set<String> {
        var seen: Set<String> = [name]
        var queue = [name]
        while let next = queue.popLast() {
            for child in downstream(of: next) where seen.insert(child).inserted { queue.append(child) }
        }
        return seen
    }

    /// A cycle as a list of stage names, or nil when the graph is acyclic.
    func cycle() -> [String]? {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var path: [String] = []
        func visit(_ node: String) -> [String]? {
            state[node] = 1
            path.append(node)
            for next in upstream[node, default: []] {
                if state[next] == 1 { return Array(path[path.firstIndex(of: next)!...]) }
                if state[next] == nil, let found = visit(next) { return found }
            }
            path.removeLast()
            state[node] = 2
            return nil
        }
        for name in names where state[name] == nil {
            if let found = visit(name) { return found.reversed() }
        }
        return nil
    }

    /// Upstream before downstream; ties in manifest order.
    func topologicalOrder() -> [String] {
        var placed = Set<String>()
        var order: [String] = []
        while order.count < names.count {
            guard let next = names.first(where: { !placed.contains($0) && upstream[$0, default: []].allSatisfy(placed.contains) }) else {
                break
            }
            placed.insert(next)
            order.append(next)
        }
        return order
    }
}
