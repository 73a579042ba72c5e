"""hccbayes.models"""
