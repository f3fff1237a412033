using BenchmarkDotNet.Running;
using IpvsOperator.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(AllocatorBenchmarks).Assembly).Run(args);
